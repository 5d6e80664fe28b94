declare module 'virtual:medbloc-fhir-definitions' {
  const definitions: Record<string, unknown>;
  export default definitions;
}
