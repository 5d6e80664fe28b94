/**
 * Typed failures of a blob store. Each class has a stable static `code` (never reworded: the HTTP and FHIR
 * edges map codes to statuses), a one-line `shortMessage`, `details` for logs and the CIDs involved as fields.
 */
import { MedblocError, type MedblocErrorOptions } from '@medbloc/core/portable';
import type { CID } from 'multiformats/cid';

export type BlobStoreErrorOptions = MedblocErrorOptions;

/** Base of every blob-store failure. */
export class BlobStoreError extends MedblocError {
  static override readonly code: string = 'BLOB_STORE_ERROR';
  override name = 'BlobStoreError';
}

/** No blob is stored under this CID. */
export class BlobNotFoundError extends BlobStoreError {
  static override readonly code = 'BLOB_NOT_FOUND';
  override name = 'BlobNotFoundError';
  readonly cid: string;
  constructor(cid: CID) {
    super('Blob not found', { details: `cid ${cid}` });
    this.cid = cid.toString();
  }
}

/** The stored bytes no longer hash to their CID (bit rot, truncation, substitution). */
export class BlobCorruptedError extends BlobStoreError {
  static override readonly code = 'BLOB_CORRUPTED';
  override name = 'BlobCorruptedError';
  readonly cid: string;
  readonly actual: string;
  constructor(cid: CID, actual: CID) {
    super('Stored blob is corrupted', { details: `cid ${cid}, stored bytes hash to ${actual}` });
    this.cid = cid.toString();
    this.actual = actual.toString();
  }
}

/** `put` was told which CID to expect and the uploaded bytes hash to another one. */
export class BlobDigestMismatchError extends BlobStoreError {
  static override readonly code = 'BLOB_DIGEST_MISMATCH';
  override name = 'BlobDigestMismatchError';
  readonly expected: string;
  readonly actual: string;
  constructor(expected: CID, actual: CID) {
    super('Uploaded bytes do not match the expected CID', { details: `expected ${expected}, got ${actual}` });
    this.expected = expected.toString();
    this.actual = actual.toString();
  }
}

/** `put` received more than `maxBytes`. */
export class BlobTooLargeError extends BlobStoreError {
  static override readonly code = 'BLOB_TOO_LARGE';
  override name = 'BlobTooLargeError';
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super('Blob is larger than allowed', { details: `limit ${maxBytes} bytes` });
    this.maxBytes = maxBytes;
  }
}

/** True for any blob-store error; narrows to one code when `code` is given. */
export function isBlobStoreError(error: unknown, code?: string): error is BlobStoreError {
  return error instanceof BlobStoreError && (code === undefined || error.code === code);
}
