/**
 * Where a batch of records is sealed. On Node, large batches go to worker threads, so a bulk ingest seals one batch
 * while the caller's thread reads, validates and uploads the next; the keys travel to the worker and back over the
 * thread's message port only (never off the machine, never to disk). Elsewhere (browsers), and for small batches,
 * batches are sealed inline. Either way the same core function runs, so the bytes are alike.
 */
// Only the modules sealing needs, not core's whole portable entry: a worker loads them before it seals anything.
import { nodeBuiltin } from '@medbloc/core/bytes';
import { type SealBatchInput, type SealedBatch, sealRecordBatch } from '@medbloc/core/seal-batch';

type WorkerThreads = typeof import('node:worker_threads');
type NodeWorker = InstanceType<WorkerThreads['Worker']>;

/** Batches smaller than this are sealed inline: the hop to a worker would cost more than it saves. */
export const WORKER_MIN_RECORDS = 32;

const WORKER_FLAG = 'medblocSealWorker';

// Inside a sealing worker: seal each batch the port sends, and send the pack back without copying it.
const threads = nodeBuiltin<WorkerThreads>('node:worker_threads');
if (threads && !threads.isMainThread && (threads.workerData as Record<string, unknown>)?.[WORKER_FLAG]) {
  const port = threads.parentPort!;
  port.on('message', (msg: { id: number; input: SealBatchInput }) => {
    sealRecordBatch(msg.input).then(
      (out) => port.postMessage({ id: msg.id, out }, [out.pack.buffer as ArrayBuffer]),
      (err: Error) => port.postMessage({ id: msg.id, error: { name: err.name, message: err.message } }),
    );
  });
  port.postMessage({ ready: true });
}

interface Job {
  resolve: (out: SealedBatch) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: NodeWorker;
  jobs: Map<number, Job>;
  /** Its code is loaded: until then, batches are sealed inline rather than wait for it. */
  ready: boolean;
}

type WorkerMessage = {
  id: number;
  ready?: true;
  out?: SealedBatch;
  error?: { name: string; message: string };
};

class WorkerPool {
  readonly #workers: Slot[] = [];
  #next = 0;
  #broken = false;
  readonly wt: WorkerThreads;
  readonly size: number;

  constructor(wt: WorkerThreads, size: number) {
    this.wt = wt;
    this.size = size;
  }

  get usable() {
    return !this.#broken;
  }

  get workerCount() {
    return this.#workers.length;
  }

  get ready() {
    return !this.#broken && this.#workers.some((w) => w.ready);
  }

  /** Starts the workers now (they load their code while the caller prepares its first batch). */
  warm() {
    while (!this.#broken && this.#workers.length < this.size) this.#spawn();
  }

  #spawn() {
    const worker = new this.wt.Worker(new URL(import.meta.url), { workerData: { [WORKER_FLAG]: true } });
    const slot: Slot = { worker, jobs: new Map(), ready: false };
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.ready) {
        slot.ready = true;
        return;
      }
      const job = slot.jobs.get(msg.id);
      if (!job) return;
      slot.jobs.delete(msg.id);
      if (slot.jobs.size === 0) worker.unref();
      if (msg.out) job.resolve(msg.out);
      else job.reject(Object.assign(new Error(msg.error?.message), { name: msg.error?.name ?? 'Error' }));
    });
    // A worker that cannot start or dies fails its jobs as WorkerLost; the pool stops using workers, and callers
    // seal inline from then on.
    const fail = (err: Error) => {
      this.#broken = true;
      for (const job of slot.jobs.values()) job.reject(new WorkerLost(err));
      slot.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`it exited with code ${code}`)));
    // Unreferenced once its listeners are attached (attaching one references it again): an idle worker never keeps
    // the process alive.
    worker.unref();
    this.#workers.push(slot);
  }

  /** Seals on the least busy ready worker (call only when `ready`). */
  seal(input: SealBatchInput): Promise<SealedBatch> {
    const slot = this.#workers.filter((w) => w.ready).reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.#next++;
    return new Promise<SealedBatch>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.ref();
      // Copied, not transferred: if the worker dies, the caller seals the same input inline.
      slot.worker.postMessage({ id, input });
    });
  }
}

class WorkerLost extends Error {
  constructor(cause: Error) {
    super(`the sealing worker was lost: ${cause.message}`, { cause });
  }
}

let pool: WorkerPool | undefined;

function workerPool(): WorkerPool | undefined {
  if (pool) return pool.usable ? pool : undefined;
  const os = nodeBuiltin<typeof import('node:os')>('node:os');
  if (!threads || !os || !threads.isMainThread) return undefined;
  // One core stays with the caller's thread; a node on the same machine has the rest when there are only two.
  pool = new WorkerPool(threads, Math.max(1, Math.min(4, os.availableParallelism() - 1)));
  return pool;
}

const counts = { inWorkers: 0, inline: 0 };

/** How many batches were sealed in workers and inline, and how many workers are up and ready. */
export function sealerStats() {
  return { ...counts, workers: pool?.workerCount ?? 0, ready: pool?.ready ?? false };
}

/** Starts the sealing workers ahead of a bulk ingest (a no-op where there are none). */
export function warmSealer() {
  workerPool()?.warm();
}

/**
 * Seals a batch — in a worker when it is large and a worker is ready, else (or if the worker is lost) inline. The
 * first large batch starts the workers; it, and any others until one is ready, are sealed inline.
 */
export async function sealBatch(input: SealBatchInput): Promise<SealedBatch> {
  const p = input.ends.length >= WORKER_MIN_RECORDS ? workerPool() : undefined;
  p?.warm();
  if (p?.ready) {
    try {
      const out = await p.seal(input);
      counts.inWorkers++;
      return out;
    } catch (err) {
      if (!(err instanceof WorkerLost)) throw err;
    }
  }
  counts.inline++;
  return sealRecordBatch(input);
}
