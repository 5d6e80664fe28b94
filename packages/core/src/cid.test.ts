import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';
import { CID } from 'multiformats/cid';
import * as json from 'multiformats/codecs/json';
import {
  cidFromDigest,
  cidOfBytes,
  cidToDigestHex,
  createDigester,
  digestHexToCid,
  parseCid,
} from './cid.ts';
import { InvalidCidError } from './errors.ts';

// Known answer: `echo -n "hello world" | ipfs add --cid-version 1 --raw-leaves` → this CID (sha-256 b94d27b9…).
const HELLO_CID = 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e';
const HELLO_SHA256 = '0xb94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';

test('known answer: CID of "hello world" as a raw leaf', () => {
  const cid = cidOfBytes(new TextEncoder().encode('hello world'));
  assert.equal(cid.toString(), HELLO_CID);
  assert.equal(cidToDigestHex(cid), HELLO_SHA256);
  assert.equal(cidToDigestHex(HELLO_CID), HELLO_SHA256);
  assert.equal(digestHexToCid(HELLO_SHA256).toString(), HELLO_CID);
});

test('streaming digester equals one-shot sha-256 whatever the piece boundaries', () => {
  const data = randomBytes(1_000_003);
  const d = createDigester();
  for (let at = 0; at < data.length; ) {
    const n = Math.floor(Math.random() * 70_000);
    d.update(data.subarray(at, at + n));
    at += n;
  }
  const digest = d.digest();
  assert.deepEqual(digest, new Uint8Array(createHash('sha256').update(data).digest()));
  assert.deepEqual(digest, sha256(data));
  assert.equal(cidFromDigest(digest).toString(), cidOfBytes(data).toString());
});

test('digest hex and CID round-trip', () => {
  for (let i = 0; i < 20; i++) {
    const hex = `0x${randomBytes(32).toString('hex')}` as const;
    const cid = digestHexToCid(hex);
    assert.equal(cid.version, 1);
    assert.equal(cid.code, 0x55);
    assert.equal(cidToDigestHex(parseCid(cid.toString())), hex);
  }
});

test('anything but a CIDv1 raw sha2-256 is rejected with InvalidCidError', () => {
  const v0 = 'QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB';
  const otherCodec = CID.createV1(json.code, parseCid(HELLO_CID).multihash).toString();
  for (const bad of ['', 'hello', v0, otherCodec, `${HELLO_CID.slice(0, -1)}!`]) {
    assert.throws(() => parseCid(bad), InvalidCidError, bad);
    assert.throws(() => cidToDigestHex(bad), InvalidCidError, bad);
  }
  for (const bad of ['0x1234', HELLO_SHA256.slice(2), `${HELLO_SHA256}00`, '0xzz']) {
    assert.throws(() => digestHexToCid(bad as `0x${string}`), InvalidCidError, bad);
  }
});
