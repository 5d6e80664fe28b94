/**
 * Access keys: per-session Ed25519 keys that sign a client's access requests, so a read costs one fast signature
 * instead of a secp256k1 one. The account key delegates to the access key once, at sign-in: the SIWE (EIP-4361)
 * message it signs lists the access key's public key as a resource. A receipt's request signature is then checked
 * with the access key, and the access key with the SIWE message and its account signature — by the node at read
 * time, by anyone auditing later.
 *
 * An access key is valid from the SIWE message's issuedAt for ACCESS_KEY_TTL_SECONDS (the node's session lifetime).
 */
import type { Address, Hex } from 'viem';
import { bytesToHex, hexToBytes } from 'viem';

export const ACCESS_KEY_RESOURCE_PREFIX = 'urn:medbloc:access-key:ed25519:';
export const ACCESS_KEY_TTL_SECONDS = 12 * 60 * 60;
export const ACCESS_KEY_STATEMENT =
  'Sign in to MedBloc. Reads in this session are signed with the access key listed under Resources.';

/** The SIWE resource that delegates to an Ed25519 access key (its 32-byte public key, hex). */
export function accessKeyResource(publicKey: Hex): string {
  if (hexToBytes(publicKey).length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  return `${ACCESS_KEY_RESOURCE_PREFIX}${publicKey.slice(2).toLowerCase()}`;
}

/** The access key a SIWE message's resources delegate to, if any (undefined when none or malformed). */
export function accessKeyOf(resources: readonly string[] | undefined): Hex | undefined {
  const r = resources?.find((x) => x.startsWith(ACCESS_KEY_RESOURCE_PREFIX));
  if (!r) return undefined;
  const hex = r.slice(ACCESS_KEY_RESOURCE_PREFIX.length);
  return /^[0-9a-f]{64}$/.test(hex) ? (`0x${hex}` as Hex) : undefined;
}

/** Hex → a fresh ArrayBuffer-backed view (what WebCrypto's types ask for). */
const buf = (hex: Hex) => new Uint8Array(hexToBytes(hex)) as Uint8Array<ArrayBuffer>;

/** A session's access key pair: the private key stays in WebCrypto (non-extractable). */
export interface AccessKey {
  publicKey: Hex;
  sign(digest: Hex): Promise<Hex>;
}

/** A new Ed25519 access key (WebCrypto, in Node and browsers), or undefined where the platform lacks Ed25519. */
export async function generateAccessKey(): Promise<AccessKey | undefined> {
  // In Node, a KeyObject signs synchronously (a WebCrypto sign is a queued job, several times slower per read).
  const nodeCrypto =
    typeof process !== 'undefined'
      ? (process.getBuiltinModule?.('node:crypto') as typeof import('node:crypto') | undefined)
      : undefined;
  if (nodeCrypto) {
    const pair = nodeCrypto.generateKeyPairSync('ed25519');
    const x = pair.publicKey.export({ format: 'jwk' }).x!;
    const publicKey = bytesToHex(new Uint8Array(Buffer.from(x, 'base64url')));
    return {
      publicKey,
      sign: async (digest) => bytesToHex(nodeCrypto.sign(null, buf(digest), pair.privateKey)),
    };
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  let pair: CryptoKeyPair;
  try {
    pair = (await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  } catch {
    return undefined;
  }
  const publicKey = bytesToHex(new Uint8Array(await subtle.exportKey('raw', pair.publicKey)));
  return {
    publicKey,
    async sign(digest) {
      return bytesToHex(new Uint8Array(await subtle.sign('Ed25519', pair.privateKey, buf(digest))));
    },
  };
}

/** Whether `signature` (64 bytes) is `publicKey`'s Ed25519 signature of `digest`. */
export async function verifyAccessKeySignature(
  publicKey: Hex,
  digest: Hex,
  signature: Hex,
): Promise<boolean> {
  try {
    const pub = buf(publicKey);
    const sig = buf(signature);
    if (pub.length !== 32 || sig.length !== 64) return false;
    const key = await globalThis.crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
    return await globalThis.crypto.subtle.verify('Ed25519', key, sig, buf(digest));
  } catch {
    return false;
  }
}

/**
 * A node's receipt key: an Ed25519 key the node operator's account delegates to (EIP-191 personal message) for
 * countersigning access receipts, so each receipt costs the node one fast signature.
 */
export function nodeReceiptKeyMessage(node: Address, key: Hex, issuedAt: number): string {
  return `MedBloc node receipt key\nNode: ${node}\nKey: ed25519:${key.slice(2).toLowerCase()}\nIssued: ${issuedAt}`;
}

/** The node, key and issue time a receipt-key message states, or undefined when it is not one. */
export function parseNodeReceiptKeyMessage(
  message: string,
): { node: Address; key: Hex; issuedAt: number } | undefined {
  const m =
    /^MedBloc node receipt key\nNode: (0x[0-9a-fA-F]{40})\nKey: ed25519:([0-9a-f]{64})\nIssued: (\d+)$/.exec(
      message,
    );
  return m ? { node: m[1] as Address, key: `0x${m[2]}` as Hex, issuedAt: Number(m[3]) } : undefined;
}
