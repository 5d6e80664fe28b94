/**
 * Record sealing: a chunked streaming AEAD in the style of age and Tink's STREAM construction, so gigabyte images
 * and genomes are encrypted and decrypted in constant memory and can be read by byte range.
 *
 * Format (all integers big-endian):
 *   header   = 'MBS1' ‖ chunkSize u32 ‖ salt (16 random bytes)                               24 bytes
 *   key      = HKDF-SHA256(ikm = DEK, salt, info = 'medbloc payload v1')                     32 bytes
 *   chunk i  = AES-256-GCM(key, nonce = i as 11 bytes ‖ last (1 on the final chunk, else 0), aad = header)
 *              over chunkSize plaintext bytes (the final chunk may be shorter; it is empty only for empty input),
 *              ciphertext followed by its 16-byte tag
 * The counter stops reordering, the last-chunk flag stops truncation and extension, the header in the AAD stops
 * header substitution, and the per-blob salt means a DEK mistakenly reused never reuses a nonce under one key.
 * AES-GCM is not key-committing, so {@link keyCommitment} (anchored on chain) binds a blob to exactly one DEK.
 *
 * On Node the chunks go through node:crypto (~1 GB/s); elsewhere through WebCrypto. Both produce identical bytes.
 */
import type * as NodeCrypto from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Hex } from 'viem';
import {
  assertBytes,
  asUint8Array,
  bufferSource as bs,
  bytes32FromHex,
  bytesToHex,
  concatBytes,
  equalBytes,
  nodeCrypto,
  randomBytes,
  subtle,
  utf8ToBytes,
} from './bytes.ts';
import { DecryptionFailedError, InvalidArgumentError, KeyCommitmentMismatchError } from './errors.ts';

export const SEAL_MAGIC = 'MBS1';
export const SEAL_HEADER_SIZE = 24;
export const SEAL_TAG_SIZE = 16;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Largest chunk size accepted (bounds the memory a hostile header can make a reader allocate). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const DATA_KEY_SIZE = 32;

const MAGIC_BYTES = utf8ToBytes(SEAL_MAGIC);
const PAYLOAD_INFO = utf8ToBytes('medbloc payload v1');
const COMMITMENT_LABEL = utf8ToBytes('medbloc key commitment v1');
const HKDF_FIRST_BLOCK = Uint8Array.of(1);

/** Which AES-GCM implementation runs the chunks. 'auto' (default) picks node:crypto when present. */
export type SealEngine = 'auto' | 'node' | 'webcrypto';

export interface SealHeader {
  chunkSize: number;
  salt: Uint8Array;
  /** The 24 encoded header bytes (the AAD of every chunk and the input of the key commitment). */
  bytes: Uint8Array;
}

export interface SealOptions {
  /** Plaintext bytes per chunk. Default 64 KiB. */
  chunkSize?: number;
  engine?: SealEngine;
  /** Header salt. Only for known-answer tests: by default 16 fresh random bytes. */
  salt?: Uint8Array;
}

export interface OpenOptions {
  engine?: SealEngine;
  /** The anchored key commitment; when given, the DEK is checked against it before anything is decrypted. */
  keyCommitment?: Hex;
}

/** A fresh random 256-bit data encryption key, one per record. */
export function generateDataKey(): Uint8Array {
  return randomBytes(DATA_KEY_SIZE);
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidArgumentError(`chunkSize must be an integer in [1, ${MAX_CHUNK_SIZE}]`);
  }
}

function encodeHeader(chunkSize: number, salt: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(SEAL_HEADER_SIZE);
  bytes.set(MAGIC_BYTES, 0);
  new DataView(bytes.buffer).setUint32(4, chunkSize, false);
  bytes.set(salt, 8);
  return bytes;
}

/**
 * Parses the header at the start of a sealed blob (at least the first 24 bytes).
 * Throws DecryptionFailedError when the bytes are not a MedBloc sealed blob.
 */
export function readHeader(sealed: Uint8Array): SealHeader {
  if (sealed.length < SEAL_HEADER_SIZE) throw new DecryptionFailedError({ details: 'truncated header' });
  if (!equalBytes(sealed.subarray(0, 4), MAGIC_BYTES))
    throw new DecryptionFailedError({ details: 'bad magic' });
  const chunkSize = new DataView(sealed.buffer, sealed.byteOffset, SEAL_HEADER_SIZE).getUint32(4, false);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new DecryptionFailedError({ details: `unsupported chunk size ${chunkSize}` });
  }
  const bytes = sealed.slice(0, SEAL_HEADER_SIZE);
  return { chunkSize, salt: bytes.subarray(8), bytes };
}

/**
 * The key commitment anchored on chain: HMAC-SHA256(DEK, 'medbloc key commitment v1' ‖ header), as bytes32 hex.
 * @example const commitment = keyCommitment(dek, readHeader(sealed));
 */
export function keyCommitment(dek: Uint8Array, header: SealHeader | Uint8Array): Hex {
  assertBytes(dek, DATA_KEY_SIZE, 'data key');
  const bytes = header instanceof Uint8Array ? readHeader(header).bytes : header.bytes;
  const nc = nodeCrypto();
  if (nc) return `0x${nc.createHmac('sha256', dek).update(COMMITMENT_LABEL).update(bytes).digest('hex')}`;
  return bytesToHex(hmac(sha256, dek, concatBytes(COMMITMENT_LABEL, bytes)));
}

/** The key commitment of a sealed blob, given the blob (or just its first 24 bytes) and its DEK. */
export function keyCommitmentOfSealed(dek: Uint8Array, sealed: Uint8Array): Hex {
  return keyCommitment(dek, readHeader(sealed));
}

/** Whether `dek` is the key committed to by `commitment` for this header (constant-time). */
export function verifyKeyCommitment(
  dek: Uint8Array,
  header: SealHeader | Uint8Array,
  commitment: Hex,
): boolean {
  return equalBytes(bytes32FromHex(keyCommitment(dek, header)), bytes32FromHex(commitment, 'key commitment'));
}

/** Size of the sealed blob for `plainSize` plaintext bytes. */
export function sealedSize(plainSize: number, chunkSize: number = DEFAULT_CHUNK_SIZE): number {
  checkChunkSize(chunkSize);
  if (!Number.isSafeInteger(plainSize) || plainSize < 0)
    throw new InvalidArgumentError('plainSize must be >= 0');
  const chunks = Math.max(1, Math.ceil(plainSize / chunkSize));
  return SEAL_HEADER_SIZE + plainSize + chunks * SEAL_TAG_SIZE;
}

/** Plaintext size of a sealed blob of `sealedBytes` bytes; throws DecryptionFailedError if no blob has that size. */
export function plaintextSize(sealedBytes: number, chunkSize: number): number {
  checkChunkSize(chunkSize);
  const body = sealedBytes - SEAL_HEADER_SIZE;
  const stride = chunkSize + SEAL_TAG_SIZE;
  const rem = body % stride;
  if (!Number.isSafeInteger(sealedBytes) || body < SEAL_TAG_SIZE || (rem > 0 && rem < SEAL_TAG_SIZE)) {
    throw new DecryptionFailedError({ details: `impossible sealed size ${sealedBytes}` });
  }
  const chunks = Math.ceil(body / stride);
  return body - chunks * SEAL_TAG_SIZE;
}

// ---------------------------------------------------------------------------------------------------------------
// Chunk ciphers: one per blob, bound to the payload key and header.

interface ChunkCipher {
  /** Ciphertext pieces of chunk `index` (ciphertext then tag; callers may concatenate or stream them). */
  seal(index: number, last: boolean, plaintext: Uint8Array): Uint8Array[] | Promise<Uint8Array[]>;
  /** Plaintext of chunk `index` after its tag verified; throws DecryptionFailedError. */
  open(index: number, last: boolean, chunk: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

function nonceFor(index: number, last: boolean, into: Uint8Array = new Uint8Array(12)): Uint8Array {
  const view = new DataView(into.buffer, into.byteOffset, 12);
  view.setUint32(0, 0, false);
  view.setUint32(3, Math.floor(index / 2 ** 32), false);
  view.setUint32(7, index >>> 0, false);
  into[11] = last ? 1 : 0;
  return into;
}

function nodeChunkCipher(nc: typeof NodeCrypto, key: Uint8Array, header: Uint8Array): ChunkCipher {
  const keyObject = nc.createSecretKey(key);
  const nonce = new Uint8Array(12);
  return {
    seal(index, last, plaintext) {
      const cipher = nc.createCipheriv('aes-256-gcm', keyObject, nonceFor(index, last, nonce), {
        authTagLength: 16,
      });
      cipher.setAAD(header);
      const out = cipher.update(plaintext);
      cipher.final();
      return [asUint8Array(out), asUint8Array(cipher.getAuthTag())];
    },
    open(index, last, chunk) {
      const split = chunk.length - SEAL_TAG_SIZE;
      if (split < 0) throw new DecryptionFailedError({ details: `chunk ${index} too short` });
      const decipher = nc.createDecipheriv('aes-256-gcm', keyObject, nonceFor(index, last, nonce), {
        authTagLength: 16,
      });
      decipher.setAAD(header);
      decipher.setAuthTag(chunk.subarray(split));
      const out = decipher.update(chunk.subarray(0, split));
      try {
        decipher.final();
      } catch (cause) {
        throw new DecryptionFailedError({ details: `chunk ${index} failed authentication`, cause });
      }
      return asUint8Array(out);
    },
  };
}

async function webChunkCipher(key: Uint8Array, header: Uint8Array): Promise<ChunkCipher> {
  const cryptoKey = await subtle().importKey('raw', bs(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
  return {
    async seal(index, last, plaintext) {
      const iv = nonceFor(index, last);
      return [
        new Uint8Array(
          await subtle().encrypt(
            { name: 'AES-GCM', iv: bs(iv), additionalData: bs(header) },
            cryptoKey,
            bs(plaintext),
          ),
        ),
      ];
    },
    async open(index, last, chunk) {
      if (chunk.length < SEAL_TAG_SIZE)
        throw new DecryptionFailedError({ details: `chunk ${index} too short` });
      const iv = nonceFor(index, last);
      try {
        return new Uint8Array(
          await subtle().decrypt(
            { name: 'AES-GCM', iv: bs(iv), additionalData: bs(header) },
            cryptoKey,
            bs(chunk),
          ),
        );
      } catch (cause) {
        throw new DecryptionFailedError({ details: `chunk ${index} failed authentication`, cause });
      }
    },
  };
}

/**
 * HKDF-SHA256 (RFC 5869) with a 32-byte output, natively: the output is the first expand block, so it is two HMACs,
 * PRK = HMAC(salt, ikm) and T(1) = HMAC(PRK, info ‖ 0x01) — the same bytes as noble's hkdf, in under half the time of
 * node:crypto's hkdfSync (bulk ingest derives two keys per record).
 */
function nodeHkdf32(nc: typeof NodeCrypto, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  const prk = nc.createHmac('sha256', salt).update(ikm).digest();
  return asUint8Array(nc.createHmac('sha256', prk).update(info).update(HKDF_FIRST_BLOCK).digest());
}

async function chunkCipherFor(
  dek: Uint8Array,
  header: SealHeader,
  engine: SealEngine = 'auto',
): Promise<ChunkCipher> {
  if (engine !== 'webcrypto') {
    const nc = nodeCrypto();
    if (nc) return nodeChunkCipher(nc, nodeHkdf32(nc, dek, header.salt, PAYLOAD_INFO), header.bytes);
    if (engine === 'node') throw new InvalidArgumentError('node:crypto is not available in this runtime');
  }
  return webChunkCipher(hkdf(sha256, dek, header.salt, PAYLOAD_INFO, 32), header.bytes);
}

function checkPiece(piece: unknown): asserts piece is Uint8Array {
  if (!(piece instanceof Uint8Array)) throw new InvalidArgumentError('stream pieces must be Uint8Array');
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming

/** Checks the key and options, draws the salt, and derives the payload cipher: what every seal starts with. */
async function beginSeal(dek: Uint8Array, options: SealOptions) {
  assertBytes(dek, DATA_KEY_SIZE, 'data key');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkChunkSize(chunkSize);
  const salt = options.salt ?? randomBytes(16);
  assertBytes(salt, 16, 'salt');
  const headerBytes = encodeHeader(chunkSize, salt);
  const cipher = await chunkCipherFor(dek, { chunkSize, salt, bytes: headerBytes }, options.engine);
  return { chunkSize, headerBytes, cipher };
}

/**
 * Seals a plaintext stream, yielding the header then the ciphertext. Input pieces may have any size; memory stays
 * at one chunk. Output pieces do not align with chunks (concatenate or pipe them).
 * @example
 * const dek = generateDataKey();
 * for await (const piece of sealStream(fs.createReadStream('scan.dcm'), dek)) out.write(piece);
 */
export async function* sealStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  dek: Uint8Array,
  options: SealOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const { chunkSize, headerBytes, cipher } = await beginSeal(dek, options);
  yield headerBytes.slice();

  // A full chunk is held back until at least one more byte arrives: only then is it known not to be the last.
  const pending = new Uint8Array(chunkSize);
  let fill = 0;
  let index = 0;
  for await (const piece of source) {
    checkPiece(piece);
    let offset = 0;
    while (offset < piece.length) {
      if (fill === chunkSize) {
        yield* await cipher.seal(index++, false, pending);
        fill = 0;
      }
      // Fast path: whole chunks inside this piece, with more bytes after them, are sealed without copying.
      while (fill === 0 && piece.length - offset > chunkSize) {
        yield* await cipher.seal(index++, false, piece.subarray(offset, offset + chunkSize));
        offset += chunkSize;
      }
      const n = Math.min(chunkSize - fill, piece.length - offset);
      pending.set(piece.subarray(offset, offset + n), fill);
      fill += n;
      offset += n;
    }
  }
  yield* await cipher.seal(index, true, pending.subarray(0, fill));
}

/**
 * Opens a sealed stream, yielding plaintext chunk by chunk; each chunk is authenticated before it is released.
 * Throws DecryptionFailedError on a bad header, wrong key, tampering, reordering, truncation or trailing data
 * (plaintext already yielded was authentic, but the caller must treat the whole record as failed), and
 * KeyCommitmentMismatchError when `options.keyCommitment` is given and does not match.
 * @example
 * for await (const piece of openStream(blobStream, dek, { keyCommitment: anchor.keyCommitment })) out.write(piece);
 */
export async function* openStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  dek: Uint8Array,
  options: OpenOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  assertBytes(dek, DATA_KEY_SIZE, 'data key');
  const headerBytes = new Uint8Array(SEAL_HEADER_SIZE);
  let headerFill = 0;
  let cipher: ChunkCipher | undefined;
  let pending = new Uint8Array(0);
  let stride = 0;
  let fill = 0;
  let index = 0;

  for await (const piece of source) {
    checkPiece(piece);
    let offset = 0;
    if (!cipher) {
      const n = Math.min(SEAL_HEADER_SIZE - headerFill, piece.length);
      headerBytes.set(piece.subarray(0, n), headerFill);
      headerFill += n;
      offset = n;
      if (headerFill < SEAL_HEADER_SIZE) continue;
      const header = readHeader(headerBytes);
      if (options.keyCommitment !== undefined && !verifyKeyCommitment(dek, header, options.keyCommitment)) {
        throw new KeyCommitmentMismatchError();
      }
      cipher = await chunkCipherFor(dek, header, options.engine);
      stride = header.chunkSize + SEAL_TAG_SIZE;
      pending = new Uint8Array(stride);
    }
    while (offset < piece.length) {
      if (fill === stride) {
        yield await cipher.open(index++, false, pending);
        fill = 0;
      }
      while (fill === 0 && piece.length - offset > stride) {
        yield await cipher.open(index++, false, piece.subarray(offset, offset + stride));
        offset += stride;
      }
      const n = Math.min(stride - fill, piece.length - offset);
      pending.set(piece.subarray(offset, offset + n), fill);
      fill += n;
      offset += n;
    }
  }
  if (!cipher) throw new DecryptionFailedError({ details: 'truncated header' });
  if (fill < SEAL_TAG_SIZE) throw new DecryptionFailedError({ details: 'truncated: final chunk missing' });
  yield await cipher.open(index, true, pending.subarray(0, fill));
}

// ---------------------------------------------------------------------------------------------------------------
// Whole payloads and ranges

/**
 * Seals a small payload in memory (FHIR resources, manifests).
 * @example const sealed = await sealBytes(utf8ToBytes(JSON.stringify(resource)), dek);
 */
export async function sealBytes(
  plaintext: Uint8Array,
  dek: Uint8Array,
  options: SealOptions = {},
): Promise<Uint8Array> {
  assertBytes(plaintext, undefined, 'plaintext');
  const out = new Uint8Array(sealedSize(plaintext.length, options.chunkSize ?? DEFAULT_CHUNK_SIZE));
  let at = 0;
  if (plaintext.length <= (options.chunkSize ?? DEFAULT_CHUNK_SIZE)) {
    // One final chunk (most records): sealed straight from the caller's bytes, no chunk buffer to fill.
    const { headerBytes, cipher } = await beginSeal(dek, options);
    out.set(headerBytes, 0);
    at = headerBytes.length;
    for (const piece of await cipher.seal(0, true, plaintext)) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }
  for await (const piece of sealStream([plaintext], dek, options)) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** Opens a sealed payload held in memory. Throws like {@link openStream}. */
export async function openBytes(
  sealed: Uint8Array,
  dek: Uint8Array,
  options: OpenOptions = {},
): Promise<Uint8Array> {
  assertBytes(sealed, undefined, 'sealed');
  const pieces: Uint8Array[] = [];
  for await (const piece of openStream([sealed], dek, options)) pieces.push(piece);
  return pieces.length === 1 ? pieces[0]! : concatBytes(...pieces);
}

/**
 * Reads bytes [start, end) of a sealed blob, clamped to its end (like an HTTP Range request). Returning more is an
 * error; returning fewer means the blob ends there.
 */
export type FetchRange = (start: number, end: number) => Promise<Uint8Array>;

/**
 * Decrypts plaintext bytes [offset, offset + length) of a sealed blob, fetching only the chunks that cover them
 * (plus the header and one byte to learn whether the last covered chunk is the final one). Returns fewer bytes when
 * the plaintext ends sooner; the end of the plaintext is authenticated by the final-chunk flag, so a truncated blob
 * throws DecryptionFailedError rather than looking short.
 * @example const slice = await openRange((s, e) => store.getRange(cid, s, e), dek, 10_000_000, 65_536);
 */
export async function openRange(
  fetchRange: FetchRange,
  dek: Uint8Array,
  offset: number,
  length: number,
  options: OpenOptions = {},
): Promise<Uint8Array> {
  assertBytes(dek, DATA_KEY_SIZE, 'data key');
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError('offset and length must be non-negative integers');
  }
  const header = readHeader(await fetchRange(0, SEAL_HEADER_SIZE));
  if (options.keyCommitment !== undefined && !verifyKeyCommitment(dek, header, options.keyCommitment)) {
    throw new KeyCommitmentMismatchError();
  }
  const cipher = await chunkCipherFor(dek, header, options.engine);
  const { chunkSize } = header;
  const stride = chunkSize + SEAL_TAG_SIZE;
  const first = Math.floor(offset / chunkSize);
  const last = Math.floor((offset + Math.max(length, 1) - 1) / chunkSize);
  const start = SEAL_HEADER_SIZE + first * stride;
  const end = SEAL_HEADER_SIZE + (last + 1) * stride + 1;
  const body = await fetchRange(start, end);
  if (body.length > end - start)
    throw new DecryptionFailedError({ details: 'range fetch returned too many bytes' });

  if (body.length === 0) {
    // The offset lies past the end. Find the last chunk (binary search with 1-byte probes) and prove it is final.
    const exists = async (j: number) =>
      (await fetchRange(SEAL_HEADER_SIZE + j * stride, SEAL_HEADER_SIZE + j * stride + 1)).length > 0;
    let lo = 0;
    let hi = first;
    if (first === 0 || !(await exists(0)))
      throw new DecryptionFailedError({ details: 'truncated: no chunks' });
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await exists(mid)) lo = mid;
      else hi = mid;
    }
    const lastChunk = await fetchRange(SEAL_HEADER_SIZE + lo * stride, SEAL_HEADER_SIZE + (lo + 1) * stride);
    await cipher.open(lo, true, lastChunk);
    return new Uint8Array(0);
  }

  const plain: Uint8Array[] = [];
  for (let j = first, at = 0; j <= last && at < body.length; j++, at += stride) {
    const isFinal = at + stride >= body.length;
    plain.push(await cipher.open(j, isFinal, body.subarray(at, Math.min(at + stride, body.length))));
    if (isFinal) break;
  }
  const joined = plain.length === 1 ? plain[0]! : concatBytes(...plain);
  const from = offset - first * chunkSize;
  return joined.slice(Math.min(from, joined.length), Math.min(from + length, joined.length));
}
