/** SDK errors: what the node refused (with its stable code) and what failed verification on this side. */
export class MedblocApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'MedblocApiError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** A record failed verification: it is tampered, substituted or mis-keyed, and its content must not be used. */
export class RecordVerificationError extends Error {
  readonly code: string;
  constructor(
    code:
      | 'DIGEST_MISMATCH'
      | 'KEY_COMMITMENT_MISMATCH'
      | 'ANCHOR_MISMATCH'
      | 'SIGNATURE_MISMATCH'
      | 'PROOF_INVALID'
      | 'RECORD_ID_MISMATCH'
      | 'ENVELOPE_INVALID'
      | 'DECRYPTION_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordVerificationError';
    this.code = code;
  }
}

export class NodeUnreachableError extends Error {
  readonly code = 'NODE_UNREACHABLE';
  constructor(url: string, cause: unknown) {
    super(`cannot reach the MedBloc node at ${url}: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'NodeUnreachableError';
  }
}

/**
 * A bulk ingest stopped part-way: the batches listed in `stored` were stored and anchored (each names the position of
 * its first item in the input and how many it held); every other item was not (`cause` says why).
 */
export class IngestError extends Error {
  readonly code = 'INGEST_PARTIAL';
  readonly stored: IngestedBatch[];
  constructor(stored: IngestedBatch[], cause: unknown) {
    const n = stored.reduce((sum, b) => sum + b.recordIds.length, 0);
    super(
      `stopped after storing ${n} records in ${stored.length} batches: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
    this.name = 'IngestError';
    this.stored = stored;
  }
}

/** One batch of a bulk ingest: its items from `first` on, their record ids, and the transaction anchoring them. */
export interface IngestedBatch {
  first: number;
  recordIds: `0x${string}`[];
  root: `0x${string}`;
  txHash: `0x${string}`;
  blockNumber: number;
}
