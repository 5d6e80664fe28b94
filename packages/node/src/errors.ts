/**
 * Node errors: one class per failure with a stable code, and the registry mapping codes to HTTP status. Domain code
 * throws these (or core's typed errors, which carry a `code` too); only the HTTP edge turns them into problems.
 */
export class NodeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    code: string,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NodeError';
    this.code = code;
    this.status = statusOf(code);
    this.details = details;
  }
}

/** Stable error codes and their HTTP status. Codes never change meaning once published. */
export const ERROR_STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_BODY: 400,
  INVALID_SIGNATURE: 400,
  SIGNATURE_EXPIRED: 400,
  SIGNATURE_REPLAYED: 409,
  NONCE_OUT_OF_ORDER: 409,
  INVALID_CID: 400,
  FHIR_INVALID: 422,
  BATCH_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_CERTIFIED: 403,
  NOT_AUTHORITY: 403,
  NOT_REGISTERED: 404,
  NOT_FOUND: 404,
  RECORD_NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  ENVELOPE_NOT_FOUND: 404,
  GRANT_NOT_FOUND: 404,
  SCOPE_NOT_FOUND: 404,
  PROFILE_NOT_FOUND: 404,
  REQUEST_NOT_FOUND: 404,
  RECEIPT_REQUIRED: 401,
  RECEIPT_INVALID: 400,
  RECORD_EXISTS: 409,
  SUPERSEDED_UNKNOWN: 409,
  UPLOAD_TOO_LARGE: 413,
  BLOB_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 507,
  BLOB_DIGEST_MISMATCH: 400,
  BLOB_CORRUPTED: 500,
  CHAIN_REVERTED: 422,
  BOND_TOO_LOW: 400,
  INVALID_REVEAL: 400,
  INSUFFICIENT_MED: 402,
  NOT_REVIEWER: 403,
  APPLICATION_NOT_FOUND: 404,
  DEV_ONLY: 404,
  NOT_ENOUGH_REVIEWERS: 409,
  APPLICATION_CLOSED: 409,
  COMMIT_CLOSED: 409,
  REVEAL_NOT_OPEN: 409,
  REVIEW_OPEN: 409,
  ALREADY_COMMITTED: 409,
  NOT_COMMITTED: 409,
  INSUFFICIENT_POINTS: 409,
  CASE_OPEN: 409,
  ALREADY_DRAWN: 409,
  DRAW_NOT_READY: 409,
  NOT_APPEALABLE: 409,
  ALREADY_APPEALED: 409,
  CHAIN_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function statusOf(code: string): number {
  return ERROR_STATUS[code] ?? 500;
}

/** An RFC 9457 problem document with our stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  details?: Record<string, unknown>;
}

export function toProblem(err: unknown): Problem {
  const e = err as { code?: unknown; message?: unknown; shortMessage?: unknown; details?: unknown };
  const code = typeof e?.code === 'string' && e.code in ERROR_STATUS ? e.code : 'INTERNAL';
  const status = statusOf(code);
  const detail =
    code === 'INTERNAL'
      ? 'internal error'
      : String((typeof e.shortMessage === 'string' && e.shortMessage) || e.message || code);
  const problem: Problem = {
    type: `https://medbloc.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: code,
    status,
    code,
    detail,
  };
  if (e?.details && typeof e.details === 'object' && code !== 'INTERNAL') {
    problem.details = e.details as Record<string, unknown>;
  }
  return problem;
}
