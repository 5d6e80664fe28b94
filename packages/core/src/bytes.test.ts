import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base64url } from 'multiformats/bases/base64';
import * as viem from 'viem';
import {
  bytesToHex,
  decodeHexInto,
  fromBase64Url,
  hexToBytes,
  isHex,
  randomBytes,
  toBase64Url,
} from './bytes.ts';
import { InvalidArgumentError } from './errors.ts';

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

test('base64url: same text as the portable codec (RFC 4648 §5, unpadded), and back', () => {
  for (let n = 0; n < 200; n++) {
    const bytes = randomBytes(n);
    const text = toBase64Url(bytes);
    assert.equal(text, base64url.baseEncode(bytes), `length ${n}`);
    assert.deepEqual(fromBase64Url(text), bytes);
  }
  // A view into a larger buffer encodes only its own bytes.
  const whole = randomBytes(64);
  assert.equal(toBase64Url(whole.subarray(5, 20)), base64url.baseEncode(whole.slice(5, 20)));
});

test('base64url: input no encoder produces is refused, as the portable codec refuses it', () => {
  // Padding, other alphabets, spaces, impossible lengths, non-zero bits past the data in the last character.
  for (const bad of ['A', 'AB==', 'A+B/', 'AB C', 'AAAAA', 'AB', 'ABC', 'AR', '_-', 'é']) {
    assert.throws(() => fromBase64Url(bad), InvalidArgumentError, bad);
    assert.throws(() => base64url.baseDecode(bad), Error, `the portable codec refuses ${bad} too`);
  }
  assert.deepEqual(fromBase64Url('AQ'), Uint8Array.of(1));
  assert.deepEqual(fromBase64Url(''), new Uint8Array(0));
});

test('decodeHexInto writes even-length 0x hex at an offset and refuses anything else', () => {
  const out = new Uint8Array(6);
  assert.equal(decodeHexInto('0x00fFa5', out, 2), 3);
  assert.deepEqual([...out], [0, 0, 0, 255, 165, 0]);
  assert.equal(decodeHexInto('0x', out, 0), 0);
  for (const bad of ['0x0', '00ff', '0xzz', '0x0\u00ff', '0X00', '0x00ff00ff00ff00'])
    assert.equal(decodeHexInto(bad, out, 0), -1, bad);
  assert.equal(decodeHexInto('0x0102', out, 5), -1, 'does not fit');
});

test('hex helpers give what viem gives: 0x-prefixed lowercase out; prefixed or bare, odd or even, any case in', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = randomBytes(n);
    const hex = bytesToHex(bytes);
    assert.equal(hex, viem.bytesToHex(bytes));
    assert.deepEqual(hexToBytes(hex), bytes);
    assert.deepEqual(hexToBytes(hex.toUpperCase().replace('0X', '0x')), bytes);
    assert.deepEqual(hexToBytes(hex.slice(2)), bytes);
  }
  for (const odd of ['0x1', '0xabc', '0x0'])
    assert.deepEqual(hexToBytes(odd), viem.hexToBytes(odd as viem.Hex));
  assert.throws(() => hexToBytes('0xzz'));
  for (const v of ['0x', '0xAbC1', '0x12g4', 'abc', '0x 1', 12, null, undefined, '0X12']) {
    assert.equal(isHex(v), viem.isHex(v), String(v));
    assert.equal(isHex(v, { strict: false }), viem.isHex(v, { strict: false }), String(v));
  }
});
