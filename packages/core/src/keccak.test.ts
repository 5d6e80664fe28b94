import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, keccak256 as viemKeccak256 } from 'viem';
import { keccak256, keccakEngine, keccakReady } from './keccak.ts';

test('keccak256 runs on WebAssembly once ready, and agrees with the portable implementation at every length', async () => {
  await keccakReady;
  assert.equal(keccakEngine(), 'wasm');
  assert.equal(
    bytesToHex(keccak256(new Uint8Array(0))),
    '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
  );
  // Lengths around the 136-byte rate, where padding spills into a second block.
  for (const length of [1, 31, 32, 64, 96, 135, 136, 137, 160, 272, 1000, 100_000]) {
    const data = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
    assert.deepEqual(keccak256(data), keccak_256(data), `length ${length}`);
    assert.equal(bytesToHex(keccak256(data)), viemKeccak256(data), `length ${length} vs viem`);
  }
});

test('each call hashes only its own input (the shared hasher is reset between calls)', async () => {
  await keccakReady;
  const a = keccak256(new Uint8Array([1, 2, 3]));
  keccak256(new Uint8Array(500).fill(9));
  assert.deepEqual(keccak256(new Uint8Array([1, 2, 3])), a);
  const out = keccak256(new Uint8Array([4]));
  keccak256(new Uint8Array([5]));
  assert.deepEqual(
    out,
    keccak_256(new Uint8Array([4])),
    'a returned digest is not overwritten by the next call',
  );
});
