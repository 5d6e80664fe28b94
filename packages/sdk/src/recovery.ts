/**
 * Social recovery on a patient's new device, which holds no identity yet: it makes a one-time recovery key pair,
 * asks the node to pass its public key to the patient's guardians, and once at least `threshold` of them have released
 * their shares (re-wrapped to that key) it combines them into the patient's mnemonic. The recovered identity must
 * have the patient's address, so wrong or tampered shares (or a node that substitutes some) cannot yield another key.
 *
 * The secret shared is the mnemonic's BIP-39 entropy, zero-padded to the 32 bytes core's `splitSecret` takes; the
 * entropy length rides inside each guardian's encrypted share (one byte after it), never in the clear.
 *
 * @example
 * const key = createRecoveryKey();
 * await requestRecovery({ node, patient, recoveryKey: key.publicKey });
 * // … guardians run client.releaseRecoveryShare({ patient, recoveryKey }) …
 * const identity = await recoverIdentity({ node, patient, recoveryKey: key });
 */
import {
  combineShares,
  decodeEnvelope,
  type EncryptionKeyPair,
  encryptionKeyPairFromSeed,
  hpkeUnwrap,
  type Identity,
  identityFromMnemonic,
  normalizeMnemonic,
  SHAMIR_SECRET_LENGTH,
} from '@medbloc/core/portable';
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { type Address, bytesToHex, getAddress, type Hex, stringToBytes } from 'viem';
import { createTransport, type Fetch } from './http.ts';

/** Not enough shares were released yet, or what was released does not rebuild the patient's identity. */
export class RecoveryError extends Error {
  readonly code: 'NOT_ENOUGH_SHARES' | 'RECOVERY_FAILED';
  constructor(code: RecoveryError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecoveryError';
    this.code = code;
  }
}

export const recoveryShareAad = (patient: Address, guardian: Address) =>
  stringToBytes(`medbloc recovery share v1:${patient.toLowerCase()}:${guardian.toLowerCase()}`);
export const recoveryReleaseAad = (patient: Address, recoveryKey: Hex, guardian: Address) =>
  stringToBytes(
    `medbloc recovery release v1:${patient.toLowerCase()}:${recoveryKey.toLowerCase()}:${guardian.toLowerCase()}`,
  );

/** The 32-byte secret a mnemonic's recovery shares split, and its entropy length in bytes (16 to 32). */
export function recoveryEntropyOf(mnemonic: string): { secret: Uint8Array; length: number } {
  const entropy = mnemonicToEntropy(normalizeMnemonic(mnemonic), wordlist);
  const secret = new Uint8Array(SHAMIR_SECRET_LENGTH);
  secret.set(entropy);
  const length = entropy.length;
  entropy.fill(0);
  return { secret, length };
}

/** A fresh one-time X25519 key pair for a recovery; keep the private key on the new device only. */
export function createRecoveryKey(): EncryptionKeyPair & { publicKeyHex: Hex } {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const pair = encryptionKeyPairFromSeed(seed);
  seed.fill(0);
  return { ...pair, publicKeyHex: bytesToHex(pair.publicKey) };
}

interface RecoveryOptions {
  node: string;
  patient: Address;
  fetch?: Fetch;
}

/** Asks the node to pass `recoveryKey` to `patient`'s guardians. Returns the threshold and number of guardians. */
export async function requestRecovery(o: RecoveryOptions & { recoveryKey: Hex }) {
  const t = createTransport(o.node, o.fetch);
  const patient = getAddress(o.patient);
  const status = await t.json<{ threshold: number; guardians: number }>('GET', `/v1/recovery/${patient}`);
  await t.json('POST', `/v1/recovery/${patient}/requests`, { recoveryKey: o.recoveryKey.toLowerCase() });
  return { patient, threshold: status.threshold, guardians: status.guardians };
}

/**
 * Collects the shares released to `recoveryKey`, rebuilds the patient's mnemonic and checks that it yields the
 * patient's address. Throws RecoveryError NOT_ENOUGH_SHARES (fewer than the threshold released) or RECOVERY_FAILED.
 */
export async function recoverIdentity(
  o: RecoveryOptions & { recoveryKey: Pick<EncryptionKeyPair, 'privateKey' | 'publicKey'> },
): Promise<{ identity: Identity; guardians: Address[] }> {
  const t = createTransport(o.node, o.fetch);
  const patient = getAddress(o.patient);
  const keyHex = bytesToHex(o.recoveryKey.publicKey);
  const { threshold, releases } = await t.json<{
    threshold: number;
    releases: { guardian: Address; envelope: string }[];
  }>('GET', `/v1/recovery/${patient}/releases?key=${keyHex}`);
  const shares: Uint8Array[] = [];
  const lengths = new Set<number>();
  const guardians: Address[] = [];
  for (const r of releases) {
    let plain: Uint8Array;
    try {
      plain = await hpkeUnwrap(
        o.recoveryKey.privateKey,
        decodeEnvelope(r.envelope).data,
        recoveryReleaseAad(patient, keyHex, r.guardian),
      );
    } catch {
      continue; // not sealed to this key by that guardian: ignore it
    }
    shares.push(plain.subarray(0, plain.length - 1));
    lengths.add(plain[plain.length - 1]!);
    guardians.push(getAddress(r.guardian));
  }
  if (shares.length < threshold)
    throw new RecoveryError(
      'NOT_ENOUGH_SHARES',
      `${shares.length} of the ${threshold} guardian shares needed have been released`,
    );
  const [length] = lengths;
  if (lengths.size !== 1 || length === undefined || length < 16 || length > 32 || length % 4 !== 0)
    throw new RecoveryError('RECOVERY_FAILED', 'the released shares disagree on the secret they share');
  let secret: Uint8Array;
  try {
    secret = await combineShares(shares);
  } catch (cause) {
    throw new RecoveryError('RECOVERY_FAILED', 'the released shares do not rebuild a secret', { cause });
  }
  const mnemonic = entropyToMnemonic(secret.slice(0, length), wordlist);
  secret.fill(0);
  const identity = identityFromMnemonic(mnemonic);
  if (identity.address !== patient)
    throw new RecoveryError(
      'RECOVERY_FAILED',
      `the recovered identity is ${identity.address}, not ${patient}`,
    );
  return { identity, guardians };
}
