/**
 * Sharing scopes. A patient shares by scope (one record, or a category such as "laboratory results") and the chain
 * must never see which category a grant covers: a category can itself be medical information. So the scope id put on
 * chain is a keyed hash of the category under a secret only the patient holds, bound to the scope key's epoch: when a
 * revocation rotates the scope key (epoch + 1), the scope id rotates with it and old and new grants cannot be linked
 * by anyone without the secret.
 *
 *   scopeId = HMAC-SHA256(patientSecret, "medbloc scope id v1" ‖ u32be(len(category)) ‖ utf8(category) ‖ u32be(epoch))
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, type Hex } from 'viem';
import { assertBytes, concatBytes, randomBytes, utf8ToBytes } from './bytes.ts';
import { InvalidArgumentError } from './errors.ts';

/** Length in bytes of a scope key and of the patient secret that keys scope ids. */
export const SCOPE_KEY_LENGTH = 32;

const SCOPE_ID_LABEL = utf8ToBytes('medbloc scope id v1');
const MAX_CATEGORY_BYTES = 1024;
const MAX_EPOCH = 0xffff_ffff;

/**
 * A fresh random 256-bit scope key. The patient wraps each new record's data key under the key of its scope and wraps
 * the scope key for every grantee; a revocation replaces it with a new one (and moves the scope to the next epoch).
 * @example const scopeKey = generateScopeKey();
 */
export function generateScopeKey(): Uint8Array {
  return randomBytes(SCOPE_KEY_LENGTH);
}

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/**
 * The opaque on-chain scope id (bytes32 hex) of `category` at `epoch`, keyed by the patient's 32-byte secret.
 * Deterministic, so the patient (or the patient's devices) recompute it; unlinkable across epochs and patients.
 * The category is hashed as given after Unicode NFC normalisation: use one canonical spelling per category.
 * @example
 * const scope = scopeIdForCategory(patientSecret, 'laboratory', 0);
 * // after revoking someone from that scope: scopeIdForCategory(patientSecret, 'laboratory', 1)
 */
export function scopeIdForCategory(patientSecret: Uint8Array, category: string, epoch: number): Hex {
  assertBytes(patientSecret, SCOPE_KEY_LENGTH, 'patientSecret');
  if (typeof category !== 'string' || category.length === 0) {
    throw new InvalidArgumentError('category must be a non-empty string');
  }
  const name = utf8ToBytes(category.normalize('NFC'));
  if (name.length > MAX_CATEGORY_BYTES) {
    throw new InvalidArgumentError(`category must be at most ${MAX_CATEGORY_BYTES} bytes of UTF-8`);
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new InvalidArgumentError('epoch must be an integer from 0 to 2^32 - 1', {
      details: `got ${epoch}`,
    });
  }
  const message = concatBytes(SCOPE_ID_LABEL, u32be(name.length), name, u32be(epoch));
  return bytesToHex(hmac(sha256, patientSecret, message));
}
