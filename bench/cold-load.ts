/**
 * One-time start-up cost of each side's FHIR definitions, measured in a fresh worker thread (its own module
 * instances, so nothing this process has loaded is reused): Medplum's R4 profiles and search parameters, and what our
 * validator loads (the compact definitions the install writes: the same profiles without their prose, and the
 * required value sets expanded).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

type Side = 'medplum' | 'ours';

async function load(side: Side): Promise<number> {
  if (side === 'medplum') {
    const { loadMedplumDefinitions } = await import('./baseline-medplum.ts');
    const t = performance.now();
    loadMedplumDefinitions();
    return performance.now() - t;
  }
  const { loadValidationDefinitions } = await import('@medbloc/core');
  const t = performance.now();
  loadValidationDefinitions();
  return performance.now() - t;
}

if (!isMainThread && (workerData as { coldLoad?: Side })?.coldLoad)
  parentPort?.postMessage(await load((workerData as { coldLoad: Side }).coldLoad));

function timeInWorker(side: Side): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { coldLoad: side } });
    w.once('message', (ms: number) => {
      resolve(ms / 1000);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

/** Seconds each side spends loading its definitions before it can take its first resource. */
export async function definitionLoadSeconds(): Promise<{ medplum: number; ours: number }> {
  return { medplum: await timeInWorker('medplum'), ours: await timeInWorker('ours') };
}
