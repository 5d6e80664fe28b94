/**
 * Merkle trees over already-hashed leaves (bytes32, e.g. anchor.ts batchLeafOf), compatible with OpenZeppelin:
 * inner nodes are keccak256 of the sorted pair (commutative), so proofs verify with OZ `MerkleProof.verify`, and the
 * tree has the array layout of `@openzeppelin/merkle-tree` (leaves in the given order, i.e. its
 * `SimpleMerkleTree.of(leaves, { sortLeaves: false })`), so both compute the same root and proofs.
 * Leaves must already be domain-separated from inner nodes (batchLeafOf double-hashes for this reason).
 */
import type { Hex } from 'viem';
import { bytesToHex, decodeHexInto } from './bytes.ts';
import { InvalidArgumentError } from './errors.ts';
import { keccak256 } from './keccak.ts';

export interface MerkleTree {
  /** The root (the single leaf itself for a one-leaf tree). */
  root: Hex;
  /** The leaves, in the order given. */
  leaves: readonly Hex[];
  /** Sibling hashes from leaf `index` up to the root, as OZ `MerkleProof.verify` expects. */
  proof(index: number): Hex[];
}

function compare(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < 32; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** keccak256 of the two 32-byte nodes in ascending order (OpenZeppelin's commutative hash). */
export function hashPair(a: Hex, b: Hex): Hex {
  const x = leafBytes(a, 'a');
  const y = leafBytes(b, 'b');
  const buf = new Uint8Array(64);
  const [lo, hi] = compare(x, 0, y, 0) <= 0 ? [x, y] : [y, x];
  buf.set(lo, 0);
  buf.set(hi, 32);
  return bytesToHex(keccak256(buf));
}

/** Decodes 0x-prefixed 32-byte hex into `out` at `offset`; throws InvalidArgumentError for anything else. */
function decodeBytes32Into(value: Hex, out: Uint8Array, offset: number, what: string): void {
  if (typeof value !== 'string' || value.length !== 66 || decodeHexInto(value, out, offset) < 0)
    throw new InvalidArgumentError(`${what} must be 0x-prefixed 32-byte hex`);
}

function leafBytes(value: Hex, what: string): Uint8Array {
  const out = new Uint8Array(32);
  decodeBytes32Into(value, out, 0, what);
  return out;
}

/**
 * Builds the tree. Throws InvalidArgumentError for no leaves or a leaf that is not bytes32 hex.
 * @example
 * const tree = buildMerkleTree(anchors.map(batchLeafOf));
 * verifyMerkleProof(tree.leaves[7]!, tree.proof(7), tree.root) // true
 */
export function buildMerkleTree(leaves: readonly Hex[]): MerkleTree {
  const n = leaves.length;
  if (n === 0) throw new InvalidArgumentError('a Merkle tree needs at least one leaf');
  // OpenZeppelin layout: node i has children 2i+1 and 2i+2; leaf k sits at index size-1-k. 32 bytes per node.
  const size = 2 * n - 1;
  const nodes = new Uint8Array(size * 32);
  for (let k = 0; k < n; k++) decodeBytes32Into(leaves[k]!, nodes, (size - 1 - k) * 32, `leaf ${k}`);
  const pair = new Uint8Array(64);
  for (let i = size - 1 - n; i >= 0; i--) {
    const l = (2 * i + 1) * 32;
    const r = l + 32;
    if (compare(nodes, l, nodes, r) <= 0) pair.set(nodes.subarray(l, r + 32));
    else {
      pair.set(nodes.subarray(r, r + 32), 0);
      pair.set(nodes.subarray(l, l + 32), 32);
    }
    nodes.set(keccak256(pair), i * 32);
  }
  const frozen = Object.freeze([...leaves]);
  return {
    root: bytesToHex(nodes.subarray(0, 32)),
    leaves: frozen,
    proof(index: number): Hex[] {
      if (!Number.isInteger(index) || index < 0 || index >= n) {
        throw new InvalidArgumentError(`leaf index ${index} out of range [0, ${n})`);
      }
      const proof: Hex[] = [];
      for (let i = size - 1 - index; i > 0; i = (i - 1) >> 1) {
        const sibling = i % 2 === 1 ? i + 1 : i - 1;
        proof.push(bytesToHex(nodes.subarray(sibling * 32, sibling * 32 + 32)));
      }
      return proof;
    },
  };
}

/** The root a proof leads to from `leaf` (OpenZeppelin `MerkleProof.processProof`). */
export function processMerkleProof(leaf: Hex, proof: readonly Hex[]): Hex {
  let node = leafBytes(leaf, 'leaf');
  const pair = new Uint8Array(64);
  for (const [k, sibling] of proof.entries()) {
    const s = leafBytes(sibling, `proof[${k}]`);
    const sFirst = compare(s, 0, node, 0) < 0;
    pair.set(sFirst ? s : node, 0);
    pair.set(sFirst ? node : s, 32);
    node = keccak256(pair);
  }
  return bytesToHex(node);
}

/** Whether `proof` shows `leaf` is in the tree with `root` (OpenZeppelin `MerkleProof.verify`). */
export function verifyMerkleProof(leaf: Hex, proof: readonly Hex[], root: Hex): boolean {
  return processMerkleProof(leaf, proof) === leafBytesHex(root);
}

function leafBytesHex(value: Hex): Hex {
  return bytesToHex(leafBytes(value, 'root'));
}
