/**
 * Byte helpers used across core. Hex, utf-8 and concatenation come from noble (re-exported, or with viem's `0x`
 * convention added, not re-implemented: loading viem for them would cost a sealing worker half its start-up); this
 * module adds what they lack: base64url, constant-time comparison, strict input checks and synchronous access to
 * node:crypto for the throughput-critical paths.
 */
import type * as NodeCrypto from 'node:crypto';
import {
  concatBytes,
  randomBytes as cryptoRandomBytes,
  bytesToHex as plainHex,
  hexToBytes as plainHexToBytes,
  utf8ToBytes,
} from '@noble/hashes/utils.js';
import { base64url } from 'multiformats/bases/base64';
import type { Hex } from 'viem';
import { InvalidArgumentError } from './errors.ts';

export { concatBytes, utf8ToBytes };

/** `0x`-prefixed lowercase hex of `bytes` (as viem's bytesToHex). */
export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${plainHex(bytes)}`;
}

/** The bytes of a hex string, `0x`-prefixed or not; an odd length is read with a leading zero (as viem's). */
export function hexToBytes(hex: string): Uint8Array {
  const digits = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  return plainHexToBytes(digits.length % 2 ? `0${digits}` : digits);
}

/** Whether `value` is a `0x`-prefixed hex string (`strict`, the default: nothing but hex digits after it). */
export function isHex(value: unknown, { strict = true }: { strict?: boolean } = {}): value is Hex {
  if (typeof value !== 'string' || !value.startsWith('0x')) return false;
  return !strict || /^0x[0-9a-fA-F]*$/.test(value);
}

const POOL_SIZE = 16 * 1024;
let pool = new Uint8Array(0);
let poolAt = 0;

/**
 * `n` bytes from the platform CSPRNG (crypto.getRandomValues). Small requests (keys, salts, nonces: bulk ingest
 * asks for several per record) are served from a 16 KiB block of CSPRNG output, each byte handed out once, instead
 * of one system call each; the served bytes are zeroed in the block.
 */
export function randomBytes(n = 32): Uint8Array {
  if (n > 256) return cryptoRandomBytes(n);
  if (poolAt + n > pool.length) {
    pool = cryptoRandomBytes(POOL_SIZE);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** Node's Buffer when present: its native base64url is 10–20× the portable codec (bulk ingest encodes per record). */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url (RFC 4648 §5), JSON- and URL-safe. */
export function toBase64Url(bytes: Uint8Array): string {
  if (NodeBuffer)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return base64url.baseEncode(bytes);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** True when `text` is exactly what {@link toBase64Url} produces for some bytes: no other characters, no padding,
 * a possible length, and zero in the bits the last character carries beyond the data. */
function isCanonicalBase64Url(text: string): boolean {
  if (!BASE64URL.test(text)) return false;
  const tail = text.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  return (ALPHABET.indexOf(text[text.length - 1]!) & (tail === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * Inverse of {@link toBase64Url}; throws InvalidArgumentError on characters outside the alphabet, padding, or
 * input no encoding produces (Node's decoder would accept such input silently, so it is checked first).
 */
export function fromBase64Url(text: string): Uint8Array {
  if (NodeBuffer) {
    if (!isCanonicalBase64Url(text)) throw new InvalidArgumentError('Invalid base64url');
    const b = NodeBuffer.from(text, 'base64url');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  try {
    return base64url.baseDecode(text);
  } catch (cause) {
    throw new InvalidArgumentError('Invalid base64url', { cause });
  }
}

/** Compares two byte arrays in time independent of their contents (lengths are not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Throws InvalidArgumentError unless `value` is a Uint8Array of `length` bytes (any length when omitted). */
export function assertBytes(
  value: unknown,
  length: number | undefined,
  what: string,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new InvalidArgumentError(`${what} must be ${length} bytes`, { details: `got ${value.length}` });
  }
}

/** Parses a 0x-prefixed 32-byte hex string; throws InvalidArgumentError otherwise. */
export function bytes32FromHex(value: Hex, what = 'value'): Uint8Array {
  if (typeof value !== 'string' || value.length !== 66 || !isHex(value, { strict: true })) {
    throw new InvalidArgumentError(`${what} must be 0x-prefixed 32-byte hex`);
  }
  return hexToBytes(value);
}

// Hex digit values by char code (-1 for non-hex): per-record hashing decodes several hex values per record, and the
// generic helpers cost more than the hash.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(c)] = c;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(c)] = c;
}

/**
 * Decodes 0x-prefixed hex of even length into `out` at `offset`. Returns the number of bytes written, or -1 (having
 * written nothing reliable) for anything that is not such hex or does not fit.
 */
export function decodeHexInto(value: string, out: Uint8Array, offset: number): number {
  if (value.length % 2 !== 0 || value.charCodeAt(0) !== 48 || value.charCodeAt(1) !== 120) return -1;
  const n = (value.length - 2) / 2;
  if (offset < 0 || offset + n > out.length) return -1;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const a = value.charCodeAt(2 + 2 * i);
    const b = value.charCodeAt(3 + 2 * i);
    const hi = HEX_VALUE[a & 127]!;
    const lo = HEX_VALUE[b & 127]!;
    bad |= hi | lo | ((a | b) & 128);
    out[offset + i] = (hi << 4) | lo;
  }
  return bad >= 0 && (bad & 128) === 0 ? n : -1;
}

/** A view of a Buffer (or any view) as a plain Uint8Array, without copying. */
export function asUint8Array(view: ArrayBufferView): Uint8Array {
  return view.constructor === Uint8Array
    ? (view as Uint8Array)
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * A Node built-in module (`node:fs`, `node:crypto`…) when running on Node, reached synchronously through
 * process.getBuiltinModule so that bundlers for the browser see no import; undefined elsewhere.
 */
export function nodeBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}

let nodeCryptoCache: typeof NodeCrypto | null | undefined;

/** node:crypto on Node ({@link nodeBuiltin}), otherwise undefined: callers fall back to WebCrypto or noble. */
export function nodeCrypto(): typeof NodeCrypto | undefined {
  if (nodeCryptoCache === undefined) nodeCryptoCache = nodeBuiltin<typeof NodeCrypto>('node:crypto') ?? null;
  return nodeCryptoCache ?? undefined;
}

/** WebCrypto's SubtleCrypto (Node 22 and every current browser). */
export function subtle(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

/** Types a Uint8Array as a WebCrypto BufferSource (TypeScript's lib cannot rule out SharedArrayBuffer). No copy. */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
