/**
 * A MedBloc identity: one BIP-39 recovery phrase yields both keys a user needs.
 *  - signing: secp256k1 at BIP-32 m/44'/60'/0'/0/{index}, the same Ethereum account MetaMask and viem derive;
 *  - encryption: an X25519 key derived separately from the same BIP-39 seed with HKDF-SHA256, so the encryption key
 *    is independent of (and reveals nothing about) the signing key, and is registered on chain as bytes32.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HDKey } from '@scure/bip32';
import { generateMnemonic as bip39Generate, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { type Address, bytesToHex, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { utf8ToBytes } from './bytes.ts';
import { InvalidArgumentError, InvalidMnemonicError } from './errors.ts';

/** An X25519 key pair (raw 32-byte keys, RFC 7748). */
export interface EncryptionKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface Identity {
  /** The Ethereum address of the signing key (EIP-55 checksummed). */
  address: Address;
  /** The normalised recovery phrase (lower case, single spaces). */
  mnemonic: string;
  /** secp256k1 private key at m/44'/60'/0'/0/{addressIndex}, as 0x-hex (viem's representation). */
  signingKey: Hex;
  /** viem account over `signingKey`, for signTypedData / signMessage / signTransaction. */
  account: LocalAccount;
  /** X25519 key pair for receiving key envelopes. */
  encryption: EncryptionKeyPair;
}

export interface IdentityOptions {
  /** Optional BIP-39 passphrase ("25th word"). Default: none. */
  passphrase?: string;
  /** Address index in m/44'/60'/0'/0/{index}. Default 0. The encryption key does not depend on it. */
  addressIndex?: number;
}

const ENCRYPTION_SALT = utf8ToBytes('MedBloc');
const ENCRYPTION_INFO = utf8ToBytes('x25519 encryption key v1');

/**
 * A new random English BIP-39 recovery phrase: 12 words (128 bits) by default, 24 words with `strength: 256`.
 * @example const mnemonic = generateMnemonic();
 */
export function generateMnemonic(strength: 128 | 256 = 128): string {
  return bip39Generate(wordlist, strength);
}

/** Lower-cases and collapses whitespace, so a phrase typed with stray spaces or capitals still restores. */
export function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/u).join(' ');
}

/**
 * Derives the identity held by a recovery phrase. Throws InvalidMnemonicError for an invalid phrase.
 * @example
 * const id = identityFromMnemonic('test test test test test test test test test test test junk');
 * id.address // 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
 */
export function identityFromMnemonic(mnemonic: string, options: IdentityOptions = {}): Identity {
  if (typeof mnemonic !== 'string') throw new InvalidMnemonicError({ details: 'not a string' });
  const normalized = normalizeMnemonic(mnemonic);
  if (!validateMnemonic(normalized, wordlist)) throw new InvalidMnemonicError();
  const index = options.addressIndex ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) {
    throw new InvalidArgumentError('addressIndex must be an integer in [0, 2^31)');
  }

  const seed = mnemonicToSeedSync(normalized, options.passphrase ?? '');
  const node = HDKey.fromMasterSeed(seed).derive(`m/44'/60'/0'/0/${index}`);
  if (!node.privateKey) throw new InvalidMnemonicError({ details: 'derivation produced no private key' });
  const signingKey = bytesToHex(node.privateKey);
  const account = privateKeyToAccount(signingKey);
  const encryption = encryptionKeyPairFromSeed(seed);
  seed.fill(0);
  node.wipePrivateData();
  return { address: account.address, mnemonic: normalized, signingKey, account, encryption };
}

/** The X25519 key pair of a BIP-39 seed: private = HKDF-SHA256(seed, 'MedBloc', 'x25519 encryption key v1'). */
export function encryptionKeyPairFromSeed(seed: Uint8Array): EncryptionKeyPair {
  const privateKey = hkdf(sha256, seed, ENCRYPTION_SALT, ENCRYPTION_INFO, 32);
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

/** The identity's X25519 public key as 0x bytes32, the form AccountRegistry stores. */
export function encryptionKeyHex(identity: Pick<Identity, 'encryption'>): Hex {
  return bytesToHex(identity.encryption.publicKey);
}
