/** CIDs of blobs: always CIDv1, raw codec (0x55), sha2-256 (0x12) — what IPFS assigns to a raw block. */
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { sha256 } from 'multiformats/hashes/sha2';

/** The CID of a blob whose sha-256 digest is `digest`. */
export function blobCid(digest: Uint8Array): CID {
  return CID.createV1(raw.code, createDigest(sha256.code, digest));
}

/** True when `cid` can name a stored blob (v1, raw, sha2-256 with a 32-byte digest). */
export function isBlobCid(cid: CID): boolean {
  return (
    cid.version === 1 &&
    cid.code === raw.code &&
    cid.multihash.code === sha256.code &&
    cid.multihash.digest.length === 32
  );
}
