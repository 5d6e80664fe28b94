/**
 * Record identity and batch leaves, computed exactly as RecordRegistry.sol does:
 *   recordId = keccak256(abi.encode(owner, creator, digest))
 *   leaf     = keccak256(bytes.concat(keccak256(abi.encode(owner, creator, digest, keyCommitment, supersedes))))
 * The double-hashed leaf follows OpenZeppelin's StandardMerkleTree so leaves cannot be confused with inner nodes.
 * abi.encode of static types is each value left-padded to 32 bytes, written here directly: bulk ingest computes
 * these for every record, and the generic ABI encoder costs several times the hash.
 */

import type { Hex } from 'viem';
import { bytesToHex, decodeHexInto } from './bytes.ts';
import type { AnchorFields } from './eip712.ts';
import { InvalidArgumentError } from './errors.ts';
import { keccak256 } from './keccak.ts';

function encodeWords(values: Hex[]): Uint8Array {
  const out = new Uint8Array(32 * values.length);
  for (const [i, v] of values.entries()) {
    const size = typeof v === 'string' ? (v.length - 2) / 2 : -1;
    if (size > 32) throw new RangeError(`ABI word too long: ${v}`);
    if (size < 0 || decodeHexInto(v, out, 32 * (i + 1) - size) !== size)
      throw new InvalidArgumentError(`not 0x-prefixed hex: ${String(v)}`);
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
