/**
 * The read path shared by every adapter, so that "never deliver corrupted bytes as good" is implemented once:
 * adapters only say how to open a blob; this module decides when and how the digest is checked.
 */
import { createHash } from 'node:crypto';
import type { CID } from 'multiformats/cid';
import { blobCid, isBlobCid } from './cid.ts';
import { BlobCorruptedError, BlobNotFoundError } from './errors.ts';
import { createBlobHasher } from './hasher.ts';
import type { GetOptions } from './port.ts';

/** An opened blob, as an adapter exposes it to the shared read path. */
export interface OpenBlob {
  readonly size: number;
  /** The whole blob, in a buffer the caller may keep and hand out (no alias of stored state). */
  readAll(): Promise<Uint8Array>;
  /** Bytes [start, end) as fresh chunks the caller may keep. */
  stream(start: number, end: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** Size of the chunks yielded from a verified in-memory read. */
const YIELD_CHUNK = 1024 * 1024;

function checkRange(opts: GetOptions): void {
  for (const key of ['offset', 'length'] as const) {
    const v = opts[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new RangeError(`get: ${key} must be a non-negative integer, got ${v}`);
    }
  }
}

/**
 * Implements `BlobStore.get` on top of an adapter's `open`. Whole reads (and ranges of small blobs) are
 * verified; blobs up to `verifyFirstBelow` bytes are checked before the first byte is yielded, larger ones
 * while streaming with the verdict at the end.
 */
export async function* verifiedGet(
  cid: CID,
  open: () => Promise<OpenBlob | undefined>,
  opts: GetOptions,
  verifyFirstBelow: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  checkRange(opts);
  const blob = isBlobCid(cid) ? await open() : undefined;
  if (blob === undefined) throw new BlobNotFoundError(cid);
  try {
    if (blob.size <= verifyFirstBelow) {
      const bytes = await blob.readAll();
      const actual = digestCid([bytes]);
      if (!actual.equals(cid)) throw new BlobCorruptedError(cid, actual);
      const start = Math.min(opts.offset ?? 0, bytes.length);
      const end = opts.length === undefined ? bytes.length : Math.min(bytes.length, start + opts.length);
      for (let at = start; at < end; at += YIELD_CHUNK)
        yield bytes.subarray(at, Math.min(end, at + YIELD_CHUNK));
      return;
    }
    const start = Math.min(opts.offset ?? 0, blob.size);
    const end = opts.length === undefined ? blob.size : Math.min(blob.size, start + opts.length);
    if (start !== 0 || end !== blob.size) {
      // A strict range of a large blob: sha-256 of the whole cannot be checked (see GetOptions).
      yield* blob.stream(start, end);
      return;
    }
    // Large: the verdict comes with the last chunk.
    const actual = yield* hashedChunks(blob.stream(0, blob.size));
    if (!actual.equals(cid)) throw new BlobCorruptedError(cid, actual);
  } finally {
    await blob.close();
  }
}

/** Implements `BlobStore.verify`: re-reads the whole blob and compares its digest with the CID. */
export async function verifyBlob(cid: CID, open: () => Promise<OpenBlob | undefined>): Promise<boolean> {
  const blob = isBlobCid(cid) ? await open() : undefined;
  if (blob === undefined) throw new BlobNotFoundError(cid);
  try {
    const chunks = hashedChunks(blob.stream(0, blob.size));
    let step = await chunks.next();
    while (!step.done) step = await chunks.next();
    // A blob that shrank or grew since `open` hashes differently, so the size needs no separate check.
    return step.value.equals(cid);
  } finally {
    await blob.close();
  }
}

/**
 * Yields `source` unchanged while hashing it (on the worker thread once past 4 MiB) and returns its CID; the hash is
 * dropped if the consumer stops early.
 */
async function* hashedChunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, CID, undefined> {
  const hash = createBlobHasher();
  let digested = false;
  try {
    for await (const chunk of source) {
      const h = hash.update(chunk);
      if (h) await h;
      yield chunk;
    }
    digested = true;
    return blobCid(await hash.digest());
  } finally {
    if (!digested) hash.abort();
  }
}

function digestCid(chunks: Iterable<Uint8Array>): CID {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return blobCid(hash.digest());
}
