/**
 * The page's sealing worker: seals each batch of records it is sent (core's sealRecordBatch, WebCrypto inside) and
 * sends the pack back without copying it, so a large import never holds up the page. Keys arrive over the worker's
 * message port only; nothing leaves the browser from here.
 */
import { type SealBatchInput, sealRecordBatch } from '@medbloc/core/portable';

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ id: number; input: SealBatchInput }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** How many batches this worker has sealed (visible in the browser's devtools, and to tests). */
  batchesSealed: number;
};
scope.batchesSealed = 0;

scope.onmessage = (e) => {
  const { id, input } = e.data;
  sealRecordBatch(input).then(
    (out) => {
      scope.batchesSealed++;
      scope.postMessage({ id, out }, [out.pack.buffer as ArrayBuffer]);
    },
    (err: Error) => scope.postMessage({ id, error: { name: err.name, message: err.message } }),
  );
};
