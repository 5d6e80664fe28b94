/**
 * Typed failures of a blob store. Each has a stable `code` (safe to map to HTTP status or a FHIR
 * OperationOutcome at the edge), a one-line `shortMessage` and structured `details`.
 */
import type { CID } from 'multiformats/cid';

/** Base of every blob-store failure; same shape as the project-wide domain error (`code`, `shortMessage`, `details`). */
export class BlobStoreError extends Error {
  override name = 'BlobStoreError';
  readonly code: string;
  readonly shortMessage: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    shortMessage: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(shortMessage, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = opts.details ?? {};
  }
}

/** No blob is stored under this CID. */
export class BlobNotFoundError extends BlobStoreError {
  static readonly code = 'BLOB_NOT_FOUND';
  override name = 'BlobNotFoundError';
  constructor(cid: CID) {
    super(BlobNotFoundError.code, `blob ${cid} not found`, { details: { cid: cid.toString() } });
  }
}

/** The stored bytes no longer hash to their CID (bit rot, truncation, substitution). */
export class BlobCorruptedError extends BlobStoreError {
  static readonly code = 'BLOB_CORRUPTED';
  override name = 'BlobCorruptedError';
  constructor(cid: CID, actual: CID) {
    super(BlobCorruptedError.code, `blob ${cid} is corrupted: its bytes hash to ${actual}`, {
      details: { cid: cid.toString(), actual: actual.toString() },
    });
  }
}

/** `put` was told which CID to expect and the uploaded bytes hash to another one. */
export class BlobDigestMismatchError extends BlobStoreError {
  static readonly code = 'BLOB_DIGEST_MISMATCH';
  override name = 'BlobDigestMismatchError';
  constructor(expected: CID, actual: CID) {
    super(BlobDigestMismatchError.code, `uploaded bytes hash to ${actual}, expected ${expected}`, {
      details: { expected: expected.toString(), actual: actual.toString() },
    });
  }
}

/** `put` received more than `maxBytes`. */
export class BlobTooLargeError extends BlobStoreError {
  static readonly code = 'BLOB_TOO_LARGE';
  override name = 'BlobTooLargeError';
  constructor(maxBytes: number) {
    super(BlobTooLargeError.code, `blob exceeds the limit of ${maxBytes} bytes`, { details: { maxBytes } });
  }
}
