/**
 * The blob-store port: content-addressed storage of opaque bytes (always ciphertext — a store never sees
 * plaintext). Adapters: `createDiskBlobStore` (embedded default), `createMemoryBlobStore` (tests); IPFS later.
 * Every adapter must pass `blobStoreSuite` (./suite.ts).
 */
import type { CID } from 'multiformats/cid';

/** Whole reads of blobs up to this size are verified before the first byte is yielded. */
export const DEFAULT_VERIFY_FIRST_BELOW = 8 * 1024 * 1024;

export interface PutOptions {
  /** The CID the caller computed; a different digest fails with `BlobDigestMismatchError` and keeps nothing. */
  expected?: CID;
  /** Upper bound on the blob size; more bytes fail with `BlobTooLargeError` and keep nothing. */
  maxBytes?: number;
  /** Aborting stops reading `source`, keeps nothing and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

export interface PutResult {
  cid: CID;
  size: number;
}

/**
 * A byte range. Out-of-range requests are clamped to the blob (an offset at or past the end yields nothing).
 *
 * Integrity of range reads: a range of a blob of at most `verifyFirstBelow` bytes is served from a whole,
 * verified read, so it is as safe as a whole read. A range of a larger blob CANNOT be checked against the CID
 * (sha-256 covers the whole blob): it is delivered unverified. Callers reading ranges of large blobs must rely
 * on their own per-chunk authentication (MedBloc's chunked AEAD does exactly that) and on `verify` / the scrubber.
 */
export interface GetOptions {
  offset?: number;
  length?: number;
}

export interface BlobStore {
  /**
   * Streams `source` in, computing sha-256 as it goes; returns its CIDv1 (raw codec 0x55, sha2-256).
   * If `expected` is given and differs, nothing is kept and `BlobDigestMismatchError` is thrown.
   * If more than `maxBytes` arrive, nothing is kept and `BlobTooLargeError` is thrown.
   * Idempotent: putting an existing blob succeeds (and replaces a corrupted copy with the good bytes).
   *
   * @example
   * const { cid } = await store.put(fs.createReadStream('scan.enc'), { maxBytes: quotaLeft });
   */
  put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts?: PutOptions): Promise<PutResult>;

  /**
   * Streams a blob, verifying its digest; a blob whose bytes don't match its CID is never delivered as good.
   * Whole reads of blobs ≤ `verifyFirstBelow` bytes (default 8 MiB) throw `BlobCorruptedError` before yielding
   * anything; larger blobs are streamed and throw at the END of the stream — consumers of large blobs must not
   * act on the bytes (e.g. forward them as complete) until iteration finished without error.
   * Unknown CID → `BlobNotFoundError` (thrown on first iteration). See `GetOptions` for range reads.
   *
   * @example
   * for await (const chunk of store.get(cid)) hash.update(chunk);
   */
  get(cid: CID, opts?: GetOptions): AsyncIterable<Uint8Array>;

  /** Size of a stored blob, or undefined when absent. Does not verify. */
  stat(cid: CID): Promise<{ size: number } | undefined>;

  has(cid: CID): Promise<boolean>;

  /** Re-reads and re-hashes the blob; false if corrupted. Unknown CID → `BlobNotFoundError`. */
  verify(cid: CID): Promise<boolean>;

  /** Removes a blob; deleting an absent blob is a no-op. */
  delete(cid: CID): Promise<void>;

  /** Every stored CID, in no particular order. */
  list(): AsyncIterable<CID>;
}
