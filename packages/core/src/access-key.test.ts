import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToHex, type Hex } from 'viem';
import {
  accessKeyOf,
  accessKeyResource,
  generateAccessKey,
  nodeReceiptKeyMessage,
  parseNodeReceiptKeyMessage,
  verifyAccessKeySignature,
} from './access-key.ts';

const rnd = (n: number): Hex => bytesToHex(crypto.getRandomValues(new Uint8Array(n)));

test('an access key signs digests that verify under its public key only', async () => {
  const key = (await generateAccessKey())!;
  const other = (await generateAccessKey())!;
  const digest = rnd(32);
  const sig = await key.sign(digest);
  assert.equal(sig.length, 2 + 128);
  assert.equal(await verifyAccessKeySignature(key.publicKey, digest, sig), true);
  assert.equal(await verifyAccessKeySignature(other.publicKey, digest, sig), false);
  assert.equal(await verifyAccessKeySignature(key.publicKey, rnd(32), sig), false);
  const flipped = `${sig.slice(0, -2)}${sig.endsWith('00') ? '01' : '00'}` as Hex;
  assert.equal(await verifyAccessKeySignature(key.publicKey, digest, flipped), false);
  assert.equal(await verifyAccessKeySignature(key.publicKey, digest, '0x1234'), false);
});

test('a SIWE resource names the access key; malformed ones name none', async () => {
  const key = (await generateAccessKey())!;
  const resource = accessKeyResource(key.publicKey);
  assert.equal(accessKeyOf(['https://example.org', resource]), key.publicKey.toLowerCase());
  assert.equal(accessKeyOf([`${resource}00`]), undefined);
  assert.equal(accessKeyOf(['urn:medbloc:access-key:ed25519:xyz']), undefined);
  assert.equal(accessKeyOf(undefined), undefined);
  assert.throws(() => accessKeyResource(rnd(20)), /32 bytes/);
});

test('a node receipt-key message round-trips and rejects anything else', () => {
  const node = '0x00000000000000000000000000000000000000aA' as const;
  const key = rnd(32);
  const msg = nodeReceiptKeyMessage(node, key, 1_800_000_000);
  assert.deepEqual(parseNodeReceiptKeyMessage(msg), { node, key, issuedAt: 1_800_000_000 });
  assert.equal(parseNodeReceiptKeyMessage(`${msg}\nextra`), undefined);
  assert.equal(parseNodeReceiptKeyMessage(msg.replace('Key: ed25519:', 'Key: secp256k1:')), undefined);
});
