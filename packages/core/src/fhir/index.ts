/** FHIR R4: parsing, validation (structure, cardinality, formats, invariants, required bindings), errors. */
export { compactDefinitions } from './compact.ts';
export {
  type CompactDefinitionsFile,
  compactDefinitionsPath,
  fhirDefinitionsLoaded,
  indexResourceTypesIn,
  loadCompactDefinitions,
  readCompactDefinitions,
} from './definitions.ts';
export { FhirValidationError } from './errors.ts';
export { parseFhirJson } from './parse.ts';
export type { FhirResult } from './validate.ts';
export {
  assertFhirResource,
  loadFhirDefinitions,
  loadValidationDefinitions,
  validateFhirJson,
  validateFhirResource,
} from './validate.ts';
