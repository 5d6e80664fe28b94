/**
 * Record identity and batch leaves, computed exactly as RecordRegistry.sol does:
 *   recordId = keccak256(abi.encode(owner, creator, digest))
 *   leaf     = keccak256(bytes.concat(keccak256(abi.encode(owner, creator, digest, keyCommitment, supersedes))))
 * The double-hashed leaf follows OpenZeppelin's StandardMerkleTree so leaves cannot be confused with inner nodes.
 */
import { encodeAbiParameters, keccak256, type Hex } from 'viem';
import type { AnchorFields } from './eip712.ts';

export function recordIdOf(a: Pick<AnchorFields, 'owner' | 'creator' | 'digest'>): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'address' }, { type: 'address' }, { type: 'bytes32' }], [a.owner, a.creator, a.digest]),
  );
}

export function batchLeafOf(a: AnchorFields): Hex {
  const inner = keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [a.owner, a.creator, a.digest, a.keyCommitment, a.supersedes],
    ),
  );
  return keccak256(inner);
}
