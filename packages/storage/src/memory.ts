/**
 * In-memory blob store: the twin of the disk adapter with identical semantics, for fast unit tests and
 * ephemeral nodes. Stored bytes are copied in and out, so callers can never mutate what is stored.
 */
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { blobCid } from './cid.ts';
import { BlobDigestMismatchError, BlobTooLargeError } from './errors.ts';
import type { BlobStore, GetOptions, PutOptions, PutResult } from './port.ts';
import { DEFAULT_VERIFY_FIRST_BELOW } from './port.ts';
import { checkPutOptions } from './put.ts';
import type { OpenBlob } from './read.ts';
import { verifiedGet, verifyBlob } from './read.ts';

export interface MemoryBlobStoreOptions {
  /** Backing map, keyed by CID string. Pass one to inspect or tamper with stored bytes in tests. */
  blobs?: Map<string, Uint8Array>;
  /** Whole reads up to this size are verified before yielding (default 8 MiB). */
  verifyFirstBelow?: number;
}

const STREAM_CHUNK = 1024 * 1024;

/**
 * @example
 * const store = createMemoryBlobStore();
 * const { cid } = await store.put([ciphertext]);
 */
export function createMemoryBlobStore(options: MemoryBlobStoreOptions = {}): BlobStore {
  const blobs = options.blobs ?? new Map<string, Uint8Array>();
  const verifyFirstBelow = options.verifyFirstBelow ?? DEFAULT_VERIFY_FIRST_BELOW;

  const open = async (cid: CID): Promise<OpenBlob | undefined> => {
    const bytes = blobs.get(cid.toString());
    if (bytes === undefined) return undefined;
    return {
      size: bytes.length,
      readAll: async () => bytes.slice(),
      async *stream(start, end) {
        for (let at = start; at < end; at += STREAM_CHUNK)
          yield bytes.slice(at, Math.min(end, at + STREAM_CHUNK));
      },
      close: async () => {},
    };
  };

  return {
    async put(source, opts: PutOptions = {}): Promise<PutResult> {
      checkPutOptions(opts);
      const hash = createHash('sha256');
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of source) {
        opts.signal?.throwIfAborted();
        size += chunk.byteLength;
        if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new BlobTooLargeError(opts.maxBytes);
        hash.update(chunk);
        // new Uint8Array(x) copies; Buffer#slice would only make a view of the caller's memory.
        chunks.push(new Uint8Array(chunk));
      }
      const cid = blobCid(hash.digest());
      if (opts.expected !== undefined && !opts.expected.equals(cid)) {
        throw new BlobDigestMismatchError(opts.expected, cid);
      }
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      blobs.set(cid.toString(), bytes);
      return { cid, size };
    },
    get: (cid: CID, opts: GetOptions = {}) => verifiedGet(cid, () => open(cid), opts, verifyFirstBelow),
    stat: async (cid) => {
      const bytes = blobs.get(cid.toString());
      return bytes === undefined ? undefined : { size: bytes.length };
    },
    has: async (cid) => blobs.has(cid.toString()),
    verify: (cid) => verifyBlob(cid, () => open(cid)),
    delete: async (cid) => {
      blobs.delete(cid.toString());
    },
    async *list() {
      for (const key of [...blobs.keys()]) yield CID.parse(key);
    },
  };
}
