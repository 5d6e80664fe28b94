// Minimal typing of the part of dcmjs we use (its data dictionary); dcmjs ships no declarations.
declare module 'dcmjs' {
  interface DcmjsDictionaryEntry {
    tag: string;
    vr: string;
    vm: string;
    name: string;
  }
  const dcmjs: {
    data: {
      DicomMetaDictionary: {
        dictionary: Record<string, DcmjsDictionaryEntry | undefined>;
        nameMap: Record<string, DcmjsDictionaryEntry | undefined>;
      };
    };
  };
  export default dcmjs;
}
