/** Apple Health exports (export.xml) → FHIR R4 Observations, streamed. */
export { BLOOD_PRESSURE, QUANTITY_TYPES } from './catalog.ts';
export {
  AppleHealthConverter,
  type AppleHealthOptions,
  type AppleHealthSummary,
  appleHealthDate,
  appleHealthToFhir,
  isAppleHealthExport,
} from './convert.ts';
export { AppleHealthError } from './errors.ts';
