import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from './bytes.ts';

test('randomBytes hands out fresh bytes of the asked length, never the same twice', () => {
  const seen = new Set<string>();
  // Well past one 16 KiB block of small requests, so refills are crossed too.
  for (let i = 0; i < 3000; i++) {
    const b = randomBytes(12 + (i % 21));
    assert.equal(b.length, 12 + (i % 21));
    const hex = Buffer.from(b).toString('hex');
    assert.ok(!seen.has(hex), 'no repeat');
    seen.add(hex);
  }
  assert.equal(randomBytes().length, 32);
  assert.equal(randomBytes(4096).length, 4096);
  // Not all zero: the pool's zeroing applies to what it keeps, never to what it hands out.
  assert.ok(randomBytes(32).some((x) => x !== 0));
});
