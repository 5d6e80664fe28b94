/** FHIR R4 JSON ↔ XML. */
export { FhirXmlError } from './errors.ts';
export { fhirXmlToJson } from './to-json.ts';
export { fhirJsonToXml } from './to-xml.ts';
