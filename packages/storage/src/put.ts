/** Input checks shared by every adapter's `put`, so all adapters reject the same things the same way. */
import type { PutOptions } from './port.ts';

export function checkPutOptions(opts: PutOptions): void {
  if (opts.maxBytes !== undefined && !(Number.isSafeInteger(opts.maxBytes) && opts.maxBytes >= 0)) {
    throw new RangeError(`put: maxBytes must be a non-negative integer, got ${opts.maxBytes}`);
  }
  opts.signal?.throwIfAborted();
}
