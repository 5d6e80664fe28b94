/**
 * k-of-n secret sharing of a 32-byte key (an emergency-profile key, or a patient's recovery key), with Shamir's scheme
 * over GF(2^8) from the audited `shamir-secret-sharing` library (Privy; audited by Cure53 and Zellic). This module
 * adds what the library leaves out: a share format that names its version and threshold, typed errors, and a check
 * value so that reconstruction from too few shares, from shares of different splits or from a tampered share fails
 * loudly instead of returning a wrong key.
 *
 *   share   = version (0x01) ‖ threshold ‖ library share of (secret ‖ check) (48 bytes of y values, then x)
 *   check   = HMAC-SHA256(secret, "medbloc shamir check v1")[0..16)
 *
 * Fewer than `threshold` shares carry no information about the secret (nor about the check value derived from it).
 * Also here: the hash of a social-recovery guardian set that Delegation stores on chain.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { combine, split } from 'shamir-secret-sharing';
import { type Address, encodeAbiParameters, getAddress, type Hex, isAddress, keccak256 } from 'viem';
import { assertBytes, bytes32FromHex, concatBytes, equalBytes, utf8ToBytes } from './bytes.ts';
import { InvalidArgumentError, MedblocError, type MedblocErrorOptions } from './errors.ts';

/** Length in bytes of the secrets this module shares. */
export const SHAMIR_SECRET_LENGTH = 32;
/** The most shares (and the highest threshold) GF(2^8) sharing allows. */
export const SHAMIR_MAX_SHARES = 255;

const VERSION = 1;
const CHECK_LENGTH = 16;
const CHECK_LABEL = utf8ToBytes('medbloc shamir check v1');
/** version ‖ threshold ‖ (secret ‖ check) y values ‖ x. */
const SHARE_LENGTH = 2 + SHAMIR_SECRET_LENGTH + CHECK_LENGTH + 1;

/** A share is malformed: wrong length or version, or shares that disagree on their threshold or repeat. */
export class InvalidShareError extends MedblocError {
  static override readonly code = 'INVALID_SHARE';
  override name = 'InvalidShareError';
}

/**
 * The shares did not reconstruct a secret: fewer than the threshold, shares of different splits, or a tampered share.
 * Deliberately one error for all of these.
 */
export class ShamirReconstructionError extends MedblocError {
  static override readonly code = 'SHAMIR_RECONSTRUCTION_FAILED';
  override name = 'ShamirReconstructionError';
  constructor(options: MedblocErrorOptions = {}) {
    super('Shares did not reconstruct the secret', options);
  }
}

export interface SplitSecretOptions {
  /** n: how many shares to make, 2 to 255. */
  shares: number;
  /** k: how many shares reconstruct the secret, 2 to `shares`. */
  threshold: number;
}

function checkOf(secret: Uint8Array): Uint8Array {
  return hmac(sha256, secret, CHECK_LABEL).subarray(0, CHECK_LENGTH);
}

/**
 * Splits a 32-byte secret into `shares` shares, any `threshold` of which reconstruct it.
 * @example
 * const shares = await splitSecret(profileKey, { shares: 5, threshold: 3 });
 * const key = await combineShares([shares[0], shares[2], shares[4]]);
 */
export async function splitSecret(secret: Uint8Array, options: SplitSecretOptions): Promise<Uint8Array[]> {
  assertBytes(secret, SHAMIR_SECRET_LENGTH, 'secret');
  const { shares, threshold } = options;
  if (!Number.isInteger(shares) || shares < 2 || shares > SHAMIR_MAX_SHARES) {
    throw new InvalidArgumentError(`shares must be an integer from 2 to ${SHAMIR_MAX_SHARES}`, {
      details: `got ${shares}`,
    });
  }
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > shares) {
    throw new InvalidArgumentError('threshold must be an integer from 2 to the number of shares', {
      details: `got ${threshold} of ${shares}`,
    });
  }
  const payload = concatBytes(secret, checkOf(secret));
  const parts = await split(payload, shares, threshold);
  payload.fill(0);
  return parts.map((part) => concatBytes(Uint8Array.of(VERSION, threshold), part));
}

/**
 * Reconstructs the secret from at least `threshold` shares of one split (any order; more than needed is fine).
 * Throws InvalidShareError for malformed input and ShamirReconstructionError when the shares do not reconstruct it.
 */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array> {
  if (!Array.isArray(shares) || shares.length === 0) {
    throw new InvalidArgumentError('shares must be a non-empty array');
  }
  const threshold = shares[0]![1];
  const xs = new Set<number>();
  for (const share of shares) {
    if (!(share instanceof Uint8Array) || share.length !== SHARE_LENGTH) {
      throw new InvalidShareError('Malformed share', { details: `a share must be ${SHARE_LENGTH} bytes` });
    }
    if (share[0] !== VERSION) throw new InvalidShareError('Unsupported share version');
    if (share[1] !== threshold) throw new InvalidShareError('Shares disagree on their threshold');
    const x = share[SHARE_LENGTH - 1]!;
    if (xs.has(x)) throw new InvalidShareError('The same share was given twice');
    xs.add(x);
  }
  if (threshold === undefined || shares.length < threshold) {
    throw new ShamirReconstructionError({ details: `${shares.length} share(s) given, ${threshold} needed` });
  }
  let payload: Uint8Array;
  try {
    payload = await combine(shares.map((share) => share.subarray(2)));
  } catch (cause) {
    throw new ShamirReconstructionError({ cause });
  }
  const secret = payload.slice(0, SHAMIR_SECRET_LENGTH);
  const ok = equalBytes(checkOf(secret), payload.subarray(SHAMIR_SECRET_LENGTH));
  payload.fill(0);
  if (!ok) {
    secret.fill(0);
    throw new ShamirReconstructionError();
  }
  return secret;
}

/** The threshold a share was made for (read from the share; not secret). */
export function shareThreshold(share: Uint8Array): number {
  if (!(share instanceof Uint8Array) || share.length !== SHARE_LENGTH || share[0] !== VERSION) {
    throw new InvalidShareError('Malformed share');
  }
  return share[1]!;
}

/**
 * The commitment to a social-recovery guardian set stored by Delegation (`setRecoveryGuardiansBySig`):
 * keccak256(abi.encode(salt, guardians sorted by address)). The random 32-byte salt, kept off chain with the shares,
 * stops anyone from confirming a guess of who the guardians are.
 * @example const guardiansHash = guardianSetHash([alice, bob, carol], bytesToHex(randomBytes(32)));
 */
export function guardianSetHash(guardians: readonly Address[], salt: Hex): Hex {
  bytes32FromHex(salt, 'salt');
  if (guardians.length === 0) throw new InvalidArgumentError('guardians must not be empty');
  const sorted = guardians
    .map((g) => {
      if (!isAddress(g, { strict: false })) throw new InvalidArgumentError('guardian is not an address');
      return getAddress(g);
    })
    .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new InvalidArgumentError('guardians must be distinct');
  }
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'address[]' }], [salt, sorted]));
}
