/**
 * Content identifiers for sealed blobs: CIDv1, raw codec, sha2-256 — the IPFS identifier of the ciphertext bytes.
 * On chain only the 32-byte sha-256 digest is stored; the CID is rebuilt from it, so the two map one to one.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { createSHA256 } from 'hash-wasm';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import * as Digest from 'multiformats/hashes/digest';
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2';
import type { Hex } from 'viem';
import { assertBytes, asUint8Array, bytes32FromHex, bytesToHex, nodeCrypto } from './bytes.ts';
import { InvalidArgumentError, InvalidCidError } from './errors.ts';

export type { CID };

/** Incremental sha-256 over a stream of pieces. */
export interface Digester {
  update(bytes: Uint8Array): Digester;
  /** The 32-byte digest; the digester cannot be used afterwards. */
  digest(): Uint8Array;
}

/**
 * A streaming sha-256: node:crypto on Node (~GB/s), @noble/hashes elsewhere.
 * @example
 * const d = createDigester();
 * for await (const piece of sealStream(source, dek)) { d.update(piece); await store.write(piece); }
 * const cid = cidFromDigest(d.digest());
 */
export function createDigester(): Digester {
  const nc = nodeCrypto();
  if (nc) {
    const hash = nc.createHash('sha256');
    const d: Digester = {
      update(bytes) {
        hash.update(bytes);
        return d;
      },
      digest: () => asUint8Array(hash.digest()),
    };
    return d;
  }
  const hash = sha256.create();
  const d: Digester = {
    update(bytes) {
      hash.update(bytes);
      return d;
    },
    digest: () => hash.digest(),
  };
  return d;
}

/** Below this many bytes a digest is not worth setting up the WebAssembly hasher for. */
const FAST_DIGEST_FROM = 1024 * 1024;

/**
 * A streaming sha-256 for a payload of `size` bytes (unknown: undefined or NaN, taken as large), such as a file being
 * sealed or read back: node:crypto on Node; elsewhere, for a large payload, hash-wasm's WebAssembly build (several
 * times @noble/hashes on megabytes), else {@link createDigester}'s @noble/hashes (also where WebAssembly is not
 * allowed: a page whose content security policy forbids it). Same bytes.
 * @example const d = await createFastDigester(file.size);
 */
export async function createFastDigester(size?: number): Promise<Digester> {
  if (nodeCrypto() || (size !== undefined && size < FAST_DIGEST_FROM)) return createDigester();
  const hasher = await createSHA256().catch(() => undefined);
  if (!hasher) return createDigester();
  hasher.init();
  const d: Digester = {
    update(bytes) {
      hasher.update(bytes);
      return d;
    },
    digest: () => hasher.digest('binary'),
  };
  return d;
}

/** The CIDv1 (raw, sha2-256) of a 32-byte sha-256 digest. */
export function cidFromDigest(digest: Uint8Array): CID {
  assertBytes(digest, 32, 'sha-256 digest');
  return CID.createV1(raw.code, Digest.create(sha256Hasher.code, digest));
}

/** The CIDv1 (raw, sha2-256) of bytes held in memory. */
export function cidOfBytes(bytes: Uint8Array): CID {
  return cidFromDigest(createDigester().update(bytes).digest());
}

/**
 * Parses a CID string (or accepts a CID) and checks it is the kind MedBloc anchors: v1, raw codec, sha2-256.
 * Throws InvalidCidError otherwise.
 * @example parseCid('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
 */
export function parseCid(value: string | CID): CID {
  let cid: CID | null;
  try {
    cid = typeof value === 'string' ? CID.parse(value) : CID.asCID(value);
  } catch (cause) {
    throw new InvalidCidError({ details: 'not a CID', cause });
  }
  if (!cid) throw new InvalidCidError({ details: 'not a CID' });
  if (cid.version !== 1 || cid.code !== raw.code)
    throw new InvalidCidError({ details: 'not a CIDv1 with raw codec' });
  if (cid.multihash.code !== sha256Hasher.code || cid.multihash.digest.length !== 32) {
    throw new InvalidCidError({ details: 'not a sha2-256 multihash' });
  }
  return cid;
}

/** The 0x bytes32 sha-256 digest of a CID (what record anchors store on chain). Throws InvalidCidError. */
export function cidToDigestHex(cid: string | CID): Hex {
  return bytesToHex(parseCid(cid).multihash.digest);
}

/** The CID of an on-chain bytes32 digest. Throws InvalidCidError for anything but 0x-prefixed 32-byte hex. */
export function digestHexToCid(digest: Hex): CID {
  try {
    return cidFromDigest(bytes32FromHex(digest, 'digest'));
  } catch (cause) {
    if (cause instanceof InvalidArgumentError)
      throw new InvalidCidError({ details: cause.shortMessage, cause });
    throw cause;
  }
}
