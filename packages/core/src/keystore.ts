/**
 * Passphrase-encrypted keystore for a recovery phrase at rest (browser storage, a CLI config file).
 * scrypt stretches the passphrase; AES-256-GCM encrypts the phrase with the account address as associated data,
 * so a keystore cannot be relabelled with another address without failing to decrypt.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import {
  bufferSource as bs,
  bytesToHex,
  hexToBytes,
  nodeCrypto,
  randomBytes,
  subtle,
  utf8ToBytes,
} from './bytes.ts';
import { InvalidArgumentError, InvalidKeystoreError, WrongPassphraseError } from './errors.ts';
import { identityFromMnemonic } from './identity.ts';

export interface Keystore {
  version: 1;
  address: Address;
  kdf: { name: 'scrypt'; N: number; r: 8; p: 1; salt: Hex };
  cipher: { name: 'aes-256-gcm'; iv: Hex; ciphertext: Hex };
}

export interface EncryptKeystoreOptions {
  /** scrypt cost (power of two). Default {@link DEFAULT_SCRYPT_N}. */
  scryptN?: number;
}

/**
 * Default scrypt N = 2^15 (r = 8, p = 1): 32 MiB of memory and ~0.17 s in Node (pure-JS scrypt, measured), a few
 * tenths of a second in a browser tab or phone, paid once per unlock. That is twice the work of scrypt's
 * "interactive" setting (N = 2^14, libsodium's MEMLIMIT_INTERACTIVE), because a stolen keystore is attacked offline
 * for as long as the attacker likes. The Ethereum keystore's 2^18 would take seconds and 256 MiB in JS, which many
 * mobile browsers cannot spare. Users protecting more can raise it per keystore (up to {@link MAX_SCRYPT_N}).
 */
export const DEFAULT_SCRYPT_N = 2 ** 15;
/** Largest N accepted when decrypting (1 GiB of memory), so a hostile keystore cannot exhaust memory. */
export const MAX_SCRYPT_N = 2 ** 20;

const R = 8;
const P = 1;

function aadFor(address: Address): Uint8Array {
  return utf8ToBytes(`medbloc keystore v1\n${address.toLowerCase()}`);
}

async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  N: number,
  usage: KeyUsage,
): Promise<CryptoKey> {
  const password = utf8ToBytes(passphrase.normalize('NFKC'));
  const maxmem = 128 * R * MAX_SCRYPT_N + 1024 * 1024;
  // Node's native scrypt gives the same bytes as noble's, faster, and returns its 32 MiB work area at once
  // (the JS version leaves it to the garbage collector, which inflates a CLI's resident memory).
  const nc = nodeCrypto();
  const raw: Uint8Array = nc
    ? await new Promise((resolve, reject) =>
        nc.scrypt(password, salt, 32, { N, r: R, p: P, maxmem }, (err, key) =>
          err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
        ),
      )
    : await scryptAsync(password, salt, { N, r: R, p: P, dkLen: 32, maxmem });
  const key = await subtle().importKey('raw', bs(raw), 'AES-GCM', false, [usage]);
  raw.fill(0);
  return key;
}

function isValidN(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 2 && n <= MAX_SCRYPT_N && (n & (n - 1)) === 0;
}

/**
 * Encrypts a recovery phrase under a passphrase. Throws InvalidMnemonicError for an invalid phrase.
 * @example
 * const ks = await encryptKeystore(identity.mnemonic, 'correct horse battery staple');
 * localStorage.setItem('medbloc', JSON.stringify(ks));
 */
export async function encryptKeystore(
  mnemonic: string,
  passphrase: string,
  options: EncryptKeystoreOptions = {},
): Promise<Keystore> {
  if (typeof passphrase !== 'string') throw new InvalidArgumentError('passphrase must be a string');
  const N = options.scryptN ?? DEFAULT_SCRYPT_N;
  if (!isValidN(N)) throw new InvalidArgumentError(`scryptN must be a power of two in [2, 2^20]`);
  const identity = identityFromMnemonic(mnemonic);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(passphrase, salt, N, 'encrypt');
  const ciphertext = new Uint8Array(
    await subtle().encrypt(
      { name: 'AES-GCM', iv: bs(iv), additionalData: bs(aadFor(identity.address)) },
      key,
      bs(utf8ToBytes(identity.mnemonic)),
    ),
  );
  return {
    version: 1,
    address: identity.address,
    kdf: { name: 'scrypt', N, r: R, p: P, salt: bytesToHex(salt) },
    cipher: { name: 'aes-256-gcm', iv: bytesToHex(iv), ciphertext: bytesToHex(ciphertext) },
  };
}

/**
 * Decrypts a keystore (object or JSON text) to its recovery phrase.
 * Throws InvalidKeystoreError when malformed, WrongPassphraseError when the passphrase (or the content) is wrong.
 * @example const mnemonic = await decryptKeystore(localStorage.getItem('medbloc')!, passphrase);
 */
export async function decryptKeystore(keystore: Keystore | string, passphrase: string): Promise<string> {
  if (typeof passphrase !== 'string') throw new InvalidArgumentError('passphrase must be a string');
  const ks = parseKeystore(keystore);
  const key = await deriveKey(passphrase, hexToBytes(ks.kdf.salt), ks.kdf.N, 'decrypt');
  let plaintext: ArrayBuffer;
  try {
    plaintext = await subtle().decrypt(
      { name: 'AES-GCM', iv: bs(hexToBytes(ks.cipher.iv)), additionalData: bs(aadFor(ks.address)) },
      key,
      bs(hexToBytes(ks.cipher.ciphertext)),
    );
  } catch (cause) {
    throw new WrongPassphraseError({ cause });
  }
  const mnemonic = new TextDecoder().decode(plaintext);
  // Authenticated already; this also catches a keystore written by a buggy client for another account.
  let address: Address;
  try {
    address = identityFromMnemonic(mnemonic).address;
  } catch (cause) {
    throw new InvalidKeystoreError({ details: 'decrypted content is not a recovery phrase', cause });
  }
  if (address !== ks.address)
    throw new InvalidKeystoreError({ details: 'address does not match the phrase' });
  return mnemonic;
}

/** Validates the shape of a keystore (object or JSON text). Throws InvalidKeystoreError. */
export function parseKeystore(input: unknown): Keystore {
  let value = input;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (cause) {
      throw new InvalidKeystoreError({ details: 'not JSON', cause });
    }
  }
  const fail = (details: string): never => {
    throw new InvalidKeystoreError({ details });
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const v = value as Record<string, unknown>;
  if (v.version !== 1) return fail(`unsupported version ${String(v.version)}`);
  if (typeof v.address !== 'string' || !isAddress(v.address, { strict: false })) return fail('bad address');
  const kdf = v.kdf as Record<string, unknown> | undefined;
  const cipher = v.cipher as Record<string, unknown> | undefined;
  if (typeof kdf !== 'object' || kdf === null || kdf.name !== 'scrypt') return fail('unsupported kdf');
  if (!isValidN(kdf.N) || kdf.r !== R || kdf.p !== P) return fail('unsupported scrypt parameters');
  const hexOf = (x: unknown, bytes?: number): x is Hex =>
    typeof x === 'string' &&
    isHex(x, { strict: true }) &&
    (bytes === undefined || x.length === 2 + 2 * bytes);
  if (!hexOf(kdf.salt, 16)) return fail('bad salt');
  if (typeof cipher !== 'object' || cipher === null || cipher.name !== 'aes-256-gcm')
    return fail('unsupported cipher');
  if (!hexOf(cipher.iv, 12)) return fail('bad iv');
  if (!hexOf(cipher.ciphertext) || cipher.ciphertext.length < 2 + 2 * 17) return fail('bad ciphertext');
  return {
    version: 1,
    address: getAddress(v.address),
    kdf: { name: 'scrypt', N: kdf.N, r: R, p: P, salt: kdf.salt },
    cipher: { name: 'aes-256-gcm', iv: cipher.iv, ciphertext: cipher.ciphertext },
  };
}
