/**
 * Record identity and batch leaves, computed exactly as RecordRegistry.sol does:
 *   recordId = keccak256(abi.encode(owner, creator, digest))
 *   leaf     = keccak256(bytes.concat(keccak256(abi.encode(owner, creator, digest, keyCommitment, supersedes))))
 * The double-hashed leaf follows OpenZeppelin's StandardMerkleTree so leaves cannot be confused with inner nodes.
 * abi.encode of static types is each value left-padded to 32 bytes, written here directly: bulk ingest computes
 * these for every record, and the generic ABI encoder costs several times the hash.
 */

import { bytesToHex, type Hex, hexToBytes } from 'viem';
import type { AnchorFields } from './eip712.ts';
import { keccak256 } from './keccak.ts';

function encodeWords(values: Hex[]): Uint8Array {
  const out = new Uint8Array(32 * values.length);
  for (const [i, v] of values.entries()) {
    const bytes = hexToBytes(v);
    if (bytes.length > 32) throw new RangeError(`ABI word too long: ${v}`);
    out.set(bytes, 32 * (i + 1) - bytes.length);
  }
  return out;
}

export function recordIdOf(a: Pick<AnchorFields, 'owner' | 'creator' | 'digest'>): Hex {
  return bytesToHex(keccak256(encodeWords([a.owner, a.creator, a.digest])));
}

export function batchLeafOf(a: AnchorFields): Hex {
  const inner = keccak256(encodeWords([a.owner, a.creator, a.digest, a.keyCommitment, a.supersedes]));
  return bytesToHex(keccak256(inner));
}
