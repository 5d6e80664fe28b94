/** HL7 v2 → FHIR R4. */
export { convertHl7v2, type Hl7v2Conversion, SUPPORTED_HL7V2_MESSAGES } from './convert.ts';
export { Hl7v2Error, type Hl7v2Location, Hl7v2UnsupportedError } from './errors.ts';
