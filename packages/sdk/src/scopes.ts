/**
 * A patient's sharing scopes, derived on the patient's side from the identity alone, so every device of the patient
 * recomputes them and nothing needs storing: a scope secret (which keys the opaque scope ids, see core scope.ts) and,
 * per scope id (one per category and epoch), an X25519 scope key pair. Writers wrap new records of a category to its
 * public key; a grant of the category wraps its private key for the grantee; a revocation moves to the next epoch.
 *
 *   secret          = keccak256(x25519 private key ‖ "medbloc scope secret v1")
 *   scope key pair  = encryptionKeyPairFromSeed(keccak256(secret ‖ scopeId))
 */
import {
  type EncryptionKeyPair,
  encryptionKeyPairFromSeed,
  type Identity,
  scopeIdForCategory,
} from '@medbloc/core/portable';
import { concat, type Hex, hexToBytes, keccak256, stringToBytes } from 'viem';
import type { Category } from './category.ts';

const SECRET_LABEL = stringToBytes('medbloc scope secret v1');

/** The patient's 32-byte scope secret. */
export function scopeSecretOf(identity: Pick<Identity, 'encryption'>): Uint8Array {
  return hexToBytes(keccak256(concat([identity.encryption.privateKey, SECRET_LABEL])));
}

/** The opaque scope id of `category` at `epoch`. */
export function scopeIdOf(secret: Uint8Array, category: Category, epoch: number): Hex {
  return scopeIdForCategory(secret, category, epoch);
}

/** The X25519 key pair of one scope id. */
export function scopeKeyPairOf(secret: Uint8Array, scopeId: Hex): EncryptionKeyPair {
  return encryptionKeyPairFromSeed(hexToBytes(keccak256(concat([secret, hexToBytes(scopeId)]))));
}
