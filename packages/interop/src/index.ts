/** @medbloc/interop — converters from the formats hospitals send into FHIR R4. */
export * from './dicom/index.ts';
export * from './vcf/index.ts';
