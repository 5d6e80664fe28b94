/**
 * Turns whatever failed (core, SDK, node problem documents, chain RPC) into a message a person can act on.
 * Stable codes come from core's MedblocError, the SDK's errors and the node's problem documents.
 */

export type ErrorKind =
  | 'passphrase'
  | 'mnemonic'
  | 'unreachable'
  | 'chain'
  | 'tampered'
  | 'forbidden'
  | 'input'
  | 'waiting'
  | 'other';

export interface FriendlyError {
  kind: ErrorKind;
  title: string;
  detail: string;
  code?: string;
}

const TAMPER_CODES = new Set([
  'DIGEST_MISMATCH',
  'KEY_COMMITMENT_MISMATCH',
  'ANCHOR_MISMATCH',
  'SIGNATURE_MISMATCH',
  'PROOF_INVALID',
  'RECORD_ID_MISMATCH',
  'DECRYPTION_FAILED',
  'BLOB_CORRUPTED',
  'BLOB_DIGEST_MISMATCH',
]);

const CHAIN_CODES = new Set(['CHAIN_REVERTED', 'CHAIN_UNAVAILABLE']);

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

function messageOf(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown };
  if (typeof e?.shortMessage === 'string') return e.shortMessage;
  if (typeof e?.message === 'string') return e.message;
  return String(err);
}

/** True when `err` means the record's bytes or anchor do not check out (as opposed to a network failure). */
export function isTamper(err: unknown): boolean {
  const code = codeOf(err);
  return (code !== undefined && TAMPER_CODES.has(code)) || (err as Error)?.name === 'RecordVerificationError';
}

export function describeError(err: unknown): FriendlyError {
  const code = codeOf(err);
  const name = (err as Error)?.name ?? '';
  const msg = messageOf(err);
  const withCode = (f: Omit<FriendlyError, 'code'>): FriendlyError => (code ? { ...f, code } : f);
  if (code === 'WRONG_PASSPHRASE')
    return withCode({
      kind: 'passphrase',
      title: 'Wrong passphrase',
      detail: 'That passphrase does not unlock this key. Check it and try again.',
    });
  if (code === 'INVALID_MNEMONIC')
    return withCode({
      kind: 'mnemonic',
      title: 'That recovery phrase is not valid',
      detail: 'Check every word and its order: one of them is misspelt, missing or in the wrong place.',
    });
  if (code === 'NODE_UNREACHABLE' || name === 'NodeUnreachableError')
    return withCode({
      kind: 'unreachable',
      title: 'The MedBloc node cannot be reached',
      detail: 'Check your connection, or whether the node is running, then try again. Nothing was changed.',
    });
  if (isTamper(err))
    return withCode({
      kind: 'tampered',
      title: 'This record failed verification',
      detail: `${msg}. It may have been altered or substituted, so its content is not shown.`,
    });
  if ((code && CHAIN_CODES.has(code)) || /HttpRequestError|RpcRequestError|ContractFunction/.test(name))
    return withCode({
      kind: 'chain',
      title: code === 'CHAIN_REVERTED' ? 'The chain refused this' : 'The chain cannot be reached',
      detail: msg,
    });
  if (code === 'NOT_CERTIFIED' || code === 'NOT_AUTHORITY' || code === 'FORBIDDEN')
    return withCode({ kind: 'forbidden', title: 'Not allowed', detail: msg });
  if (code === 'QUOTA_EXCEEDED')
    return withCode({ kind: 'other', title: 'Storage quota reached', detail: msg });
  if (code === 'NOT_ENOUGH_SHARES')
    return withCode({
      kind: 'waiting',
      title: 'Not enough guardians have released their share yet',
      detail: `${msg}. Ask another guardian, then check again.`,
    });
  if (code === 'FHIR_INVALID')
    return withCode({
      kind: 'input',
      title: 'Not valid FHIR R4 — nothing was sealed or sent',
      detail: msg,
    });
  if (name === 'InputError') return withCode({ kind: 'input', title: 'Check the form', detail: msg });
  if (name === 'SyntaxError')
    return withCode({ kind: 'input', title: 'That is not valid JSON', detail: msg });
  return withCode({ kind: 'other', title: 'Something went wrong', detail: msg });
}
