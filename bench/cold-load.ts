/**
 * One-time start-up cost of each side's FHIR definitions, measured in a fresh worker thread (its own module
 * instances, so nothing this process has loaded is reused): Medplum's R4 profiles and search parameters, and what our
 * validator loads (the compact definitions the install writes: the same profiles without their prose, and the
 * required value sets expanded) with the profiles of the resource types the bundles hold, which it indexes as it
 * first meets them.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Bundle } from '@medplum/fhirtypes';
import { inWorker } from './worker.ts';

type Side = 'medplum' | 'ours';

async function load(side: Side, bundles: Bundle[]): Promise<number> {
  if (side === 'medplum') {
    const { loadMedplumDefinitions } = await import('./baseline-medplum.ts');
    const t = performance.now();
    loadMedplumDefinitions();
    return performance.now() - t;
  }
  const { indexResourceTypesIn, loadValidationDefinitions } = await import('@medbloc/core');
  const t = performance.now();
  loadValidationDefinitions();
  for (const bundle of bundles) indexResourceTypesIn(bundle);
  return performance.now() - t;
}

type Job = { coldLoad: Side; bundles: Bundle[] };
if (!isMainThread && (workerData as Job | undefined)?.coldLoad) {
  const job = workerData as Job;
  parentPort?.postMessage(await load(job.coldLoad, job.bundles));
}

async function timeInWorker(side: Side, bundles: Bundle[]): Promise<number> {
  return (await inWorker<number>(import.meta.url, { coldLoad: side, bundles } satisfies Job)) / 1000;
}

/** Seconds each side spends loading the definitions it needs to take `bundles`. */
export async function definitionLoadSeconds(bundles: Bundle[]): Promise<{ medplum: number; ours: number }> {
  return { medplum: await timeInWorker('medplum', bundles), ours: await timeInWorker('ours', bundles) };
}
