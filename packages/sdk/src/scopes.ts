/**
 * A patient's sharing scopes, derived on the patient's side from the identity alone, so every device of the patient
 * recomputes them and nothing needs storing: a scope secret (which keys the opaque scope ids, see core scope.ts) and,
 * per scope id (one per category and epoch), an X25519 scope key pair. Writers wrap new records of a category to its
 * public key; a grant of the category wraps its private key for the grantee; a revocation moves to the next epoch.
 *
 *   secret          = keccak256(x25519 private key ‖ "medbloc scope secret v1")              (generation 0)
 *                     keccak256(x25519 private key ‖ "medbloc scope secret v1" ‖ u32be(g))  (generation g ≥ 1)
 *   scope key pair  = encryptionKeyPairFromSeed(keccak256(secret ‖ scopeId))
 *
 * A patient moves to a new generation when it revokes a delegate, who held the earlier generations' secrets: every
 * category then gets a new epoch under the new secret, which the revoked delegate cannot derive. A patient's
 * keyring is its secrets of generations 0..current; a key listed at the node tells its generation by its scope id.
 */
import {
  type EncryptionKeyPair,
  encryptionKeyPairFromSeed,
  type Identity,
  scopeIdForCategory,
} from '@medbloc/core/portable';
import { concat, type Hex, hexToBytes, keccak256, numberToBytes, stringToBytes } from 'viem';
import { type Category, isCategory } from './category.ts';

const SECRET_LABEL = stringToBytes('medbloc scope secret v1');

/** The patient's 32-byte scope secret of `generation` (default 0). */
export function scopeSecretOf(identity: Pick<Identity, 'encryption'>, generation = 0): Uint8Array {
  const parts = [identity.encryption.privateKey, SECRET_LABEL];
  if (generation > 0) parts.push(numberToBytes(generation, { size: 4 }));
  return hexToBytes(keccak256(concat(parts)));
}

/** The secret of `keyring` (secrets by generation) under which `key` (a listed scope key) was made, if any. */
export function secretOfScope(
  keyring: readonly Uint8Array[],
  key: { category: string; epoch: number; scopeId: Hex },
): Uint8Array | undefined {
  if (!isCategory(key.category)) return undefined;
  const category = key.category;
  return keyring.find((s) => scopeIdOf(s, category, key.epoch) === key.scopeId);
}

/** The opaque scope id of `category` at `epoch`. */
export function scopeIdOf(secret: Uint8Array, category: Category, epoch: number): Hex {
  return scopeIdForCategory(secret, category, epoch);
}

/** The X25519 key pair of one scope id. */
export function scopeKeyPairOf(secret: Uint8Array, scopeId: Hex): EncryptionKeyPair {
  return encryptionKeyPairFromSeed(hexToBytes(keccak256(concat([secret, hexToBytes(scopeId)]))));
}
