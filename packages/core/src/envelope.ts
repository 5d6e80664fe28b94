/**
 * Key envelopes: how a data key reaches its readers.
 *  - HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, info 'medbloc envelope v1')
 *    wraps a key to a reader's registered X25519 public key. Costly (~ms), so used per scope or ingest batch.
 *  - Symmetric wrap (AES-256-GCM under a 32-byte key-encryption key, random 96-bit nonce) wraps each record's DEK
 *    under such a scope/batch key in microseconds. A KEK must wrap fewer than 2^32 keys (random-nonce bound).
 * Both bind caller-supplied context (e.g. the record id) as AAD, so an envelope cannot be moved to another record.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import {
  assertBytes,
  bufferSource as bs,
  concatBytes,
  fromBase64Url,
  nodeCrypto,
  randomBytes,
  subtle,
  toBase64Url,
  utf8ToBytes,
} from './bytes.ts';
import { EnvelopeOpenError, InvalidEnvelopeError } from './errors.ts';

export const HPKE_INFO = 'medbloc envelope v1';
/** Length of the HPKE encapsulated key (X25519 public key) at the start of an HPKE envelope. */
export const HPKE_ENC_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const INFO_BYTES = utf8ToBytes(HPKE_INFO);

let suiteCache: CipherSuite | undefined;
function suite(): CipherSuite {
  suiteCache ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  return suiteCache;
}

/**
 * Wraps `key` to an X25519 public key with HPKE; returns enc ‖ ciphertext (32 + key length + 16 bytes).
 * @example const envelope = await hpkeWrap(readerPublicKey, dek, hexToBytes(recordId));
 */
export async function hpkeWrap(
  recipientPublicKey: Uint8Array,
  key: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  assertBytes(recipientPublicKey, 32, 'recipient public key');
  assertBytes(key, undefined, 'key');
  assertBytes(aad, undefined, 'aad');
  const s = suite();
  const publicKey = await s.kem.deserializePublicKey(recipientPublicKey);
  const { enc, ct } = await s.seal({ recipientPublicKey: publicKey, info: INFO_BYTES }, key, aad);
  return concatBytes(new Uint8Array(enc), new Uint8Array(ct));
}

/**
 * Opens an HPKE envelope with the recipient's X25519 private key.
 * Throws EnvelopeOpenError for a wrong key, wrong AAD, or a tampered or malformed envelope.
 * @example const dek = await hpkeUnwrap(identity.encryption.privateKey, envelope, hexToBytes(recordId));
 */
export async function hpkeUnwrap(
  recipientPrivateKey: Uint8Array,
  envelope: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  assertBytes(recipientPrivateKey, 32, 'recipient private key');
  assertBytes(envelope, undefined, 'envelope');
  assertBytes(aad, undefined, 'aad');
  if (envelope.length < HPKE_ENC_SIZE + TAG_SIZE)
    throw new EnvelopeOpenError({ details: 'envelope too short' });
  try {
    const s = suite();
    const recipientKey = await s.kem.deserializePrivateKey(recipientPrivateKey);
    const plaintext = await s.open(
      { recipientKey, enc: envelope.slice(0, HPKE_ENC_SIZE), info: INFO_BYTES },
      envelope.subarray(HPKE_ENC_SIZE),
      aad,
    );
    return new Uint8Array(plaintext);
  } catch (cause) {
    throw new EnvelopeOpenError({ details: 'HPKE open failed', cause });
  }
}

/**
 * Wraps `key` under a 32-byte key-encryption key: nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16).
 * @example const wrapped = await symWrap(batchKey, dek, hexToBytes(recordId));
 */
export async function symWrap(kek: Uint8Array, key: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  assertBytes(kek, 32, 'key-encryption key');
  assertBytes(key, undefined, 'key');
  assertBytes(aad, undefined, 'aad');
  const nonce = randomBytes(NONCE_SIZE);
  const nc = nodeCrypto();
  if (nc) {
    const cipher = nc.createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_SIZE });
    cipher.setAAD(aad);
    const out = new Uint8Array(NONCE_SIZE + key.length + TAG_SIZE);
    out.set(nonce, 0);
    out.set(cipher.update(key), NONCE_SIZE);
    cipher.final();
    out.set(cipher.getAuthTag(), NONCE_SIZE + key.length);
    return out;
  }
  const cryptoKey = await subtle().importKey('raw', bs(kek), 'AES-GCM', false, ['encrypt']);
  const ct = await subtle().encrypt(
    { name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad) },
    cryptoKey,
    bs(key),
  );
  return concatBytes(nonce, new Uint8Array(ct));
}

/** Opens a {@link symWrap} envelope. Throws EnvelopeOpenError for a wrong KEK, wrong AAD or tampering. */
export async function symUnwrap(kek: Uint8Array, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  assertBytes(kek, 32, 'key-encryption key');
  assertBytes(wrapped, undefined, 'wrapped key');
  assertBytes(aad, undefined, 'aad');
  if (wrapped.length < NONCE_SIZE + TAG_SIZE)
    throw new EnvelopeOpenError({ details: 'wrapped key too short' });
  const nonce = wrapped.subarray(0, NONCE_SIZE);
  const nc = nodeCrypto();
  try {
    if (nc) {
      const split = wrapped.length - TAG_SIZE;
      const decipher = nc.createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_SIZE });
      decipher.setAAD(aad);
      decipher.setAuthTag(wrapped.subarray(split));
      const out = new Uint8Array(split - NONCE_SIZE);
      out.set(decipher.update(wrapped.subarray(NONCE_SIZE, split)));
      decipher.final();
      return out;
    }
    const cryptoKey = await subtle().importKey('raw', bs(kek), 'AES-GCM', false, ['decrypt']);
    const pt = await subtle().decrypt(
      { name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad) },
      cryptoKey,
      bs(wrapped.subarray(NONCE_SIZE)),
    );
    return new Uint8Array(pt);
  } catch (cause) {
    throw new EnvelopeOpenError({ details: 'symmetric unwrap failed', cause });
  }
}

/** A key envelope as stored beside a record: HPKE to a reader's key, or wrapped under a named scope/batch key. */
export type Envelope =
  | { kind: 'hpke'; data: Uint8Array }
  | { kind: 'wrapped'; kekId: string; data: Uint8Array };

const KEK_ID = /^[A-Za-z0-9_:-]{1,128}$/u;

/**
 * Serialises an envelope as a compact JSON- and URL-safe string: `hpke1.<base64url>` or
 * `wrap1.<kekId>.<base64url>`. `kekId` must match /^[A-Za-z0-9_:-]{1,128}$/ (e.g. a hex scope id).
 * @example encodeEnvelope({ kind: 'wrapped', kekId: batchId, data: await symWrap(batchKey, dek, aad) })
 */
export function encodeEnvelope(envelope: Envelope): string {
  assertBytes(envelope.data, undefined, 'envelope data');
  if (envelope.kind === 'hpke') return `hpke1.${toBase64Url(envelope.data)}`;
  if (envelope.kind === 'wrapped') {
    if (typeof envelope.kekId !== 'string' || !KEK_ID.test(envelope.kekId)) {
      throw new InvalidEnvelopeError({ details: 'kekId must match [A-Za-z0-9_:-]{1,128}' });
    }
    return `wrap1.${envelope.kekId}.${toBase64Url(envelope.data)}`;
  }
  throw new InvalidEnvelopeError({ details: 'unknown envelope kind' });
}

/** Parses {@link encodeEnvelope} output. Throws InvalidEnvelopeError. */
export function decodeEnvelope(text: string): Envelope {
  if (typeof text !== 'string') throw new InvalidEnvelopeError({ details: 'not a string' });
  const parts = text.split('.');
  const decode = (b64: string | undefined): Uint8Array => {
    if (!b64 || !/^[A-Za-z0-9_-]+$/u.test(b64))
      throw new InvalidEnvelopeError({ details: 'bad base64url data' });
    try {
      return fromBase64Url(b64);
    } catch (cause) {
      throw new InvalidEnvelopeError({ details: 'bad base64url data', cause });
    }
  };
  if (parts[0] === 'hpke1' && parts.length === 2) return { kind: 'hpke', data: decode(parts[1]) };
  if (parts[0] === 'wrap1' && parts.length === 3 && KEK_ID.test(parts[1]!)) {
    return { kind: 'wrapped', kekId: parts[1]!, data: decode(parts[2]) };
  }
  throw new InvalidEnvelopeError({ details: 'unknown envelope format' });
}
