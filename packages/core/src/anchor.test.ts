import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAbiParameters, getAddress, type Hex, keccak256 } from 'viem';
import { batchLeafOf, recordIdOf } from './anchor.ts';

const random = (n: number): Hex =>
  `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString('hex')}` as Hex;

test('record ids and batch leaves equal abi.encode + keccak256, as the contract computes them', () => {
  for (let i = 0; i < 200; i++) {
    const a = {
      owner: random(20),
      creator: random(20),
      digest: random(32),
      keyCommitment: random(32),
      supersedes: i % 3 ? random(32) : (`0x${'00'.repeat(32)}` as Hex),
    };
    const id = keccak256(
      encodeAbiParameters(
        [{ type: 'address' }, { type: 'address' }, { type: 'bytes32' }],
        [a.owner, a.creator, a.digest],
      ),
    );
    assert.equal(recordIdOf(a), id);
    const inner = keccak256(
      encodeAbiParameters(
        [
          { type: 'address' },
          { type: 'address' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
        ],
        [a.owner, a.creator, a.digest, a.keyCommitment, a.supersedes],
      ),
    );
    assert.equal(batchLeafOf(a), keccak256(inner));
  }
});

test('checksummed (mixed-case) addresses give the same ids as lower-case ones; malformed hex is refused', () => {
  const owner = getAddress(random(20));
  const a = { owner, creator: owner, digest: random(32) };
  assert.equal(recordIdOf(a), recordIdOf({ ...a, owner: owner.toLowerCase() as Hex }));
  for (const digest of ['0x12g4', '0x123', '1234', `0x${'ab'.repeat(33)}`] as Hex[])
    assert.throws(() => recordIdOf({ ...a, digest }), /hex|too long/, digest);
});
