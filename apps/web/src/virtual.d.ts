declare module 'virtual:medbloc-fhir-definitions' {
  /** Core's compact R4 definitions by file name (packages/core/src/fhir/compact.ts), built in at build time. */
  const definitions: Record<string, import('@medplum/fhirtypes').Bundle>;
  export default definitions;
}
