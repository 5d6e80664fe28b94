/**
 * Sealing off the page's thread: the SDK's batches (`addRecords`, `ingest` — an Apple Health import seals thousands
 * of records) go to one Web Worker; small batches, and everything if the worker cannot start or is lost, are sealed
 * inline by the same core function.
 */
import { type SealBatchInput, type SealedBatch, sealRecordBatch } from '@medbloc/core/portable';
import type { BatchSealer } from '@medbloc/sdk';

/** Batches smaller than this are sealed inline: the hop to the worker costs more than it saves. */
const WORKER_MIN_RECORDS = 32;

type Reply = { id: number; out?: SealedBatch; error?: { name: string; message: string } };

let worker: Worker | undefined;
let broken = false;
let next = 0;
const jobs = new Map<number, { resolve: (out: SealedBatch) => void; reject: (err: Error) => void }>();

class WorkerLost extends Error {}

function sealingWorker(): Worker | undefined {
  if (broken || typeof Worker === 'undefined') return undefined;
  if (worker) return worker;
  try {
    worker = new Worker(new URL('./seal-worker.ts', import.meta.url), {
      type: 'module',
      name: 'medbloc-sealer',
    });
  } catch {
    broken = true;
    return undefined;
  }
  worker.onmessage = (e: MessageEvent<Reply>) => {
    const job = jobs.get(e.data.id);
    if (!job) return;
    jobs.delete(e.data.id);
    if (e.data.out) job.resolve(e.data.out);
    else job.reject(Object.assign(new Error(e.data.error?.message), { name: e.data.error?.name ?? 'Error' }));
  };
  worker.onerror = () => {
    broken = true;
    for (const job of jobs.values()) job.reject(new WorkerLost('the sealing worker was lost'));
    jobs.clear();
    worker?.terminate();
  };
  return worker;
}

/** Seals in the page's worker (inline when the batch is small or the worker is unavailable). */
export const sealInWorker: BatchSealer = async (input: SealBatchInput) => {
  const w = input.ends.length >= WORKER_MIN_RECORDS ? sealingWorker() : undefined;
  if (w) {
    try {
      return await new Promise<SealedBatch>((resolve, reject) => {
        const id = next++;
        jobs.set(id, { resolve, reject });
        w.postMessage({ id, input });
      });
    } catch (err) {
      if (!(err instanceof WorkerLost)) throw err;
    }
  }
  return sealRecordBatch(input);
};
