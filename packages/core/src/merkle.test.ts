import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { concat, type Hex, keccak256 } from 'viem';
import { batchLeafOf } from './anchor.ts';
import { ZERO_HASH } from './eip712.ts';
import { InvalidArgumentError } from './errors.ts';
import { buildMerkleTree, hashPair, processMerkleProof, verifyMerkleProof } from './merkle.ts';

const rand = (): Hex => `0x${randomBytes(32).toString('hex')}`;
/** OpenZeppelin Hashes.commutativeKeccak256, written independently with viem. */
const oz = (a: Hex, b: Hex): Hex =>
  BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));

const a = `0x${'11'.repeat(32)}` as Hex;
const b = `0x${'22'.repeat(32)}` as Hex;
const c = `0x${'33'.repeat(32)}` as Hex;
const d = `0x${'44'.repeat(32)}` as Hex;

test('pair hash is keccak256 of the sorted pair (commutative)', () => {
  assert.equal(hashPair(a, b), keccak256(concat([a, b])));
  assert.equal(hashPair(b, a), keccak256(concat([a, b])));
  // Known answer: keccak256 of 0x11…11 ‖ 0x22…22.
  assert.equal(hashPair(a, b), oz(b, a));
});

test('handwritten trees follow the OpenZeppelin merkle-tree layout', () => {
  // One leaf: the root is the leaf, the proof is empty.
  const one = buildMerkleTree([a]);
  assert.equal(one.root, a);
  assert.deepEqual(one.proof(0), []);

  // Two leaves.
  const two = buildMerkleTree([a, b]);
  assert.equal(two.root, oz(a, b));
  assert.deepEqual(two.proof(0), [b]);
  assert.deepEqual(two.proof(1), [a]);

  // Three leaves, OZ array [root, n1, c, b, a]: n1 = H(b, a), root = H(n1, c).
  const three = buildMerkleTree([a, b, c]);
  const ab = oz(a, b);
  assert.equal(three.root, oz(ab, c));
  assert.deepEqual(three.proof(0), [b, c]);
  assert.deepEqual(three.proof(1), [a, c]);
  assert.deepEqual(three.proof(2), [ab]);

  // Four leaves, array [root, n1, n2, d, c, b, a]: n1 = H(d, c), n2 = H(b, a).
  const four = buildMerkleTree([a, b, c, d]);
  assert.equal(four.root, oz(oz(c, d), oz(a, b)));
  assert.deepEqual(four.proof(0), [b, oz(c, d)]);
  assert.deepEqual(four.proof(3), [c, oz(a, b)]);
  assert.deepEqual(four.leaves, [a, b, c, d]);
});

test('every proof of random trees verifies, and nothing else does', () => {
  for (const n of [1, 2, 3, 5, 7, 8, 9, 16, 33, 100, 257]) {
    const leaves = Array.from({ length: n }, rand);
    const tree = buildMerkleTree(leaves);
    for (let i = 0; i < n; i++) {
      const proof = tree.proof(i);
      assert.ok(proof.length <= Math.ceil(Math.log2(n)) + 1);
      assert.ok(verifyMerkleProof(leaves[i]!, proof, tree.root), `n=${n} i=${i}`);
      assert.equal(processMerkleProof(leaves[i]!, proof), tree.root);
      assert.ok(!verifyMerkleProof(rand(), proof, tree.root));
      if (proof.length > 0) {
        const bad = [...proof];
        bad[0] = rand();
        assert.ok(!verifyMerkleProof(leaves[i]!, bad, tree.root));
      }
    }
  }
});

test('works over batch leaves from anchor.ts', () => {
  const owner = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
  const leaves = Array.from({ length: 10 }, () =>
    batchLeafOf({ owner, creator: owner, digest: rand(), keyCommitment: rand(), supersedes: ZERO_HASH }),
  );
  const tree = buildMerkleTree(leaves);
  assert.ok(leaves.every((leaf, i) => verifyMerkleProof(leaf, tree.proof(i), tree.root)));
});

test('a tree of 100k leaves proves its first, middle and last leaf and nothing else', () => {
  const leaves = Array.from({ length: 100_000 }, rand);
  const tree = buildMerkleTree(leaves);
  for (const i of [0, 49_999, 99_999]) assert.ok(verifyMerkleProof(leaves[i]!, tree.proof(i), tree.root));
  assert.equal(verifyMerkleProof(leaves[1]!, tree.proof(0), tree.root), false);
});

test('bad input throws InvalidArgumentError', () => {
  assert.throws(() => buildMerkleTree([]), InvalidArgumentError);
  for (const bad of [
    '0x1234',
    `0X${'a'.repeat(64)}`,
    `0x${'g'.repeat(64)}`,
    `0x${'é'.repeat(64)}`,
    a.slice(2),
  ]) {
    assert.throws(() => buildMerkleTree([a, bad as Hex]), InvalidArgumentError, bad);
    assert.throws(() => verifyMerkleProof(a, [bad as Hex], a), InvalidArgumentError, bad);
  }
  const tree = buildMerkleTree([a, b, c]);
  for (const i of [-1, 3, 1.5]) assert.throws(() => tree.proof(i), InvalidArgumentError);
  // Upper-case hex is accepted and compared case-insensitively.
  assert.ok(verifyMerkleProof(a, tree.proof(0), tree.root.toUpperCase().replace('0X', '0x') as Hex));
});
