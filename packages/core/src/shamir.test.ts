import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { combine } from 'shamir-secret-sharing';
import { encodeAbiParameters, getAddress, type Hex, keccak256 } from 'viem';
import { InvalidArgumentError, isMedblocError } from './errors.ts';
import {
  combineShares,
  guardianSetHash,
  InvalidShareError,
  ShamirReconstructionError,
  shareThreshold,
  splitSecret,
} from './shamir.ts';

const newSecret = () => new Uint8Array(randomBytes(32));

/** Every k-element subset of `items`. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [head!, ...s]), ...subsets(rest, k)];
}

test('any k of n shares reconstruct the secret, for several k-of-n', async () => {
  for (const [k, n] of [
    [2, 2],
    [2, 3],
    [3, 5],
    [5, 5],
    [4, 7],
    [10, 255],
  ] as const) {
    const secret = newSecret();
    const shares = await splitSecret(secret, { shares: n, threshold: k });
    assert.equal(shares.length, n);
    for (const share of shares) assert.equal(shareThreshold(share), k);
    if (n <= 7) {
      for (const subset of subsets(shares, k)) assert.deepEqual(await combineShares(subset), secret);
    } else {
      assert.deepEqual(await combineShares(shares.slice(100, 100 + k)), secret);
    }
    // More than k shares, in any order, reconstruct too.
    assert.deepEqual(await combineShares([...shares].reverse()), secret);
  }
});

test('fewer than k shares do not reconstruct: a typed error, and the raw interpolation is not the secret', async () => {
  const secret = newSecret();
  const shares = await splitSecret(secret, { shares: 5, threshold: 3 });
  for (const pair of subsets(shares, 2)) {
    await assert.rejects(combineShares(pair), ShamirReconstructionError);
    // Even bypassing the threshold check, interpolating 2 points of a degree-2 polynomial yields no secret.
    const raw = await combine(pair.map((s) => s.subarray(2)));
    assert.notDeepEqual(raw.subarray(0, 32), secret);
  }
  // Forging the threshold byte down does not help: the check value catches the wrong reconstruction.
  const lowered = shares.slice(0, 2).map((s) => Uint8Array.of(s[0]!, 2, ...s.subarray(2)));
  await assert.rejects(combineShares(lowered), ShamirReconstructionError);
});

test('below the threshold a share is uniformly distributed whatever the secret (reveals nothing)', async () => {
  // One share of a 2-of-2 split: each byte is secret + a·x over GF(2^8) with random a, x ≠ 0: uniform.
  const chiSquare = async (secret: Uint8Array) => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 200; i++) {
      const [share] = await splitSecret(secret, { shares: 2, threshold: 2 });
      for (const byte of share!.subarray(2, 34)) counts[byte]!++;
    }
    const expected = (200 * 32) / 256;
    return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
  };
  // 255 degrees of freedom: p = 0.0001 at ~343; a secret leaking through would be far above.
  assert.ok((await chiSquare(new Uint8Array(32))) < 360);
  assert.ok((await chiSquare(new Uint8Array(32).fill(0xff))) < 360);
});

test('a tampered share, or shares of different splits, fail to reconstruct', async () => {
  const secret = newSecret();
  const shares = await splitSecret(secret, { shares: 5, threshold: 3 });
  // A flipped bit in the secret part, in the check part, and a moved x coordinate.
  for (const index of [2, 20, 33, 34, 49]) {
    const tampered = shares.slice(0, 3).map((s) => s.slice());
    tampered[1]![index]! ^= 0x01;
    await assert.rejects(combineShares(tampered), ShamirReconstructionError, `byte ${index}`);
  }
  const moved = shares.slice(0, 3).map((s) => s.slice());
  const usedX = new Set(shares.map((s) => s[50]));
  moved[2]![50] = [...Array(255).keys()].map((i) => i + 1).find((x) => !usedX.has(x))!;
  await assert.rejects(combineShares(moved), ShamirReconstructionError);
  // More shares than needed, one of them tampered: still detected.
  const all = shares.map((s) => s.slice());
  all[4]![10]! ^= 0x80;
  await assert.rejects(combineShares(all), ShamirReconstructionError);

  const other = await splitSecret(newSecret(), { shares: 5, threshold: 3 });
  const mixed = [shares[0]!, shares[1]!, other.find((s) => !usedX.has(s[50]))!];
  if (mixed[2]) await assert.rejects(combineShares(mixed), ShamirReconstructionError);
});

test('malformed input is rejected with typed errors', async () => {
  await assert.rejects(splitSecret(new Uint8Array(31), { shares: 3, threshold: 2 }), InvalidArgumentError);
  await assert.rejects(splitSecret(newSecret(), { shares: 1, threshold: 1 }), InvalidArgumentError);
  await assert.rejects(splitSecret(newSecret(), { shares: 256, threshold: 2 }), InvalidArgumentError);
  await assert.rejects(splitSecret(newSecret(), { shares: 3, threshold: 4 }), InvalidArgumentError);
  await assert.rejects(splitSecret(newSecret(), { shares: 3, threshold: 1 }), InvalidArgumentError);
  await assert.rejects(splitSecret(newSecret(), { shares: 3.5, threshold: 2 }), InvalidArgumentError);

  const shares = await splitSecret(newSecret(), { shares: 3, threshold: 2 });
  await assert.rejects(combineShares([]), InvalidArgumentError);
  await assert.rejects(combineShares([shares[0]!, shares[0]!]), InvalidShareError);
  await assert.rejects(combineShares([shares[0]!, shares[1]!.subarray(1)]), InvalidShareError);
  const badVersion = shares[1]!.slice();
  badVersion[0] = 9;
  await assert.rejects(combineShares([shares[0]!, badVersion]), InvalidShareError);
  const otherThreshold = shares[1]!.slice();
  otherThreshold[1] = 3;
  await assert.rejects(combineShares([shares[0]!, otherThreshold]), InvalidShareError);
  const err = await combineShares([shares[0]!]).catch((e: unknown) => e);
  assert.ok(isMedblocError(err, 'SHAMIR_RECONSTRUCTION_FAILED'));
});

test('the guardian-set hash commits to the set (any order or case) and its salt', () => {
  const a = getAddress(`0x${'a1'.repeat(20)}`);
  const b = getAddress(`0x${'0b'.repeat(20)}`);
  const c = getAddress(`0x${'5c'.repeat(20)}`);
  const salt = `0x${'07'.repeat(32)}` as Hex;
  const h = guardianSetHash([a, b, c], salt);
  assert.equal(
    h,
    keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'address[]' }], [salt, [b, c, a]])),
  );
  assert.equal(guardianSetHash([c, a, b], salt), h);
  assert.equal(guardianSetHash([c.toLowerCase() as Hex, a, b], salt), h);
  assert.notEqual(guardianSetHash([a, b, c], `0x${'08'.repeat(32)}`), h);
  assert.notEqual(guardianSetHash([a, b], salt), h);
  assert.throws(() => guardianSetHash([a, a], salt), InvalidArgumentError);
  assert.throws(() => guardianSetHash([], salt), InvalidArgumentError);
  assert.throws(() => guardianSetHash([a], '0x01'), InvalidArgumentError);
});
