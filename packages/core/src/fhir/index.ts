/** FHIR R4: parsing, validation (structure, cardinality, formats, invariants, required bindings), errors. */
export { FhirValidationError } from './errors.ts';
export { parseFhirJson } from './parse.ts';
export type { FhirResult } from './validate.ts';
export {
  assertFhirResource,
  loadFhirDefinitions,
  validateFhirJson,
  validateFhirResource,
} from './validate.ts';
