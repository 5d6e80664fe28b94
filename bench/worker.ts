/** Runs a bench module in a fresh worker thread (its own heap and module instances) and takes its one answer. */
import { Worker } from 'node:worker_threads';

/**
 * Starts `module` (its `import.meta.url`) as a worker with `data`; resolves with the first message it posts.
 * @example const ms = await inWorker<number>(import.meta.url, { coldLoad: 'ours' });
 */
export function inWorker<T>(module: string, data: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(module), { workerData: data });
    w.once('message', (out: T) => {
      resolve(out);
      void w.terminate();
    });
    w.once('error', reject);
  });
}
