import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { x25519 } from '@noble/curves/ed25519.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  hpkeUnwrap,
  hpkeWrap,
  symUnwrap,
  symWrap,
} from './envelope.ts';
import { EnvelopeOpenError, InvalidEnvelopeError } from './errors.ts';
import { identityFromMnemonic } from './identity.ts';

const te = utf8ToBytes;
const i2osp = (n: number, len: number) =>
  new Uint8Array(len).map((_, i) => (n >> (8 * (len - 1 - i))) & 0xff);

/**
 * Independent RFC 9180 receiver (base mode, DHKEM(X25519, HKDF-SHA256) = 0x0020, HKDF-SHA256 = 0x0001,
 * AES-256-GCM = 0x0002), written from the RFC's pseudocode with noble and node:crypto, to pin our parameters.
 */
function rfc9180Open(skR: Uint8Array, envelope: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  const enc = envelope.subarray(0, 32);
  const ct = envelope.subarray(32);
  const labeledExtract = (suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) =>
    extract(sha256, concatBytes(te('HPKE-v1'), suite, te(label), ikm), salt);
  const labeledExpand = (suite: Uint8Array, prk: Uint8Array, label: string, inf: Uint8Array, L: number) =>
    expand(sha256, prk, concatBytes(i2osp(L, 2), te('HPKE-v1'), suite, te(label), inf), L);
  const kemSuite = concatBytes(te('KEM'), i2osp(0x20, 2));
  const dh = x25519.getSharedSecret(skR, enc);
  const kemContext = concatBytes(enc, x25519.getPublicKey(skR));
  const eaePrk = labeledExtract(kemSuite, new Uint8Array(0), 'eae_prk', dh);
  const sharedSecret = labeledExpand(kemSuite, eaePrk, 'shared_secret', kemContext, 32);
  const suite = concatBytes(te('HPKE'), i2osp(0x20, 2), i2osp(1, 2), i2osp(2, 2));
  const empty = new Uint8Array(0);
  const pskIdHash = labeledExtract(suite, empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(suite, empty, 'info_hash', info);
  const context = concatBytes(new Uint8Array([0]), pskIdHash, infoHash);
  const secret = labeledExtract(suite, sharedSecret, 'secret', empty);
  const key = labeledExpand(suite, secret, 'key', context, 32);
  const nonce = labeledExpand(suite, secret, 'base_nonce', context, 12);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(ct.subarray(ct.length - 16));
  const out = d.update(ct.subarray(0, ct.length - 16));
  d.final();
  return new Uint8Array(out);
}

const reader = identityFromMnemonic('test test test test test test test test test test test junk').encryption;
const RECORD_ID = new Uint8Array(32).fill(0x42);

test('HPKE envelopes follow RFC 9180 with the MedBloc suite and info (independent receiver)', async () => {
  const dek = new Uint8Array(randomBytes(32));
  const envelope = await hpkeWrap(reader.publicKey, dek, RECORD_ID);
  assert.equal(envelope.length, 32 + 32 + 16);
  assert.deepEqual(rfc9180Open(reader.privateKey, envelope, te('medbloc envelope v1'), RECORD_ID), dek);
  assert.deepEqual(await hpkeUnwrap(reader.privateKey, envelope, RECORD_ID), dek);
});

test('HPKE uses a fresh ephemeral key per wrap', async () => {
  const key = new Uint8Array(32);
  const a = await hpkeWrap(reader.publicKey, key, RECORD_ID);
  const b = await hpkeWrap(reader.publicKey, key, RECORD_ID);
  assert.notDeepEqual(a.subarray(0, 32), b.subarray(0, 32));
});

test('HPKE unwrap fails with EnvelopeOpenError for wrong key, wrong AAD or tampering', async () => {
  const dek = new Uint8Array(randomBytes(32));
  const envelope = await hpkeWrap(reader.publicKey, dek, RECORD_ID);
  const other = x25519.utils.randomSecretKey();
  await assert.rejects(hpkeUnwrap(other, envelope, RECORD_ID), EnvelopeOpenError);
  await assert.rejects(hpkeUnwrap(reader.privateKey, envelope, new Uint8Array(32)), EnvelopeOpenError);
  for (const at of [0, 31, 32, envelope.length - 1]) {
    const t = envelope.slice();
    t[at]! ^= 1;
    await assert.rejects(hpkeUnwrap(reader.privateKey, t, RECORD_ID), EnvelopeOpenError, `byte ${at}`);
  }
  await assert.rejects(hpkeUnwrap(reader.privateKey, envelope.subarray(0, 40), RECORD_ID), EnvelopeOpenError);
});

test('symmetric wrap: nonce ‖ AES-256-GCM(kek, key, aad), readable by plain WebCrypto', async () => {
  const kek = new Uint8Array(randomBytes(32));
  const dek = new Uint8Array(randomBytes(32));
  const wrapped = await symWrap(kek, dek, RECORD_ID);
  assert.equal(wrapped.length, 12 + 32 + 16);
  const k = await crypto.subtle.importKey('raw', kek, 'AES-GCM', false, ['decrypt']);
  const viaWebCrypto = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: new Uint8Array(wrapped.subarray(0, 12)), additionalData: RECORD_ID },
    k,
    new Uint8Array(wrapped.subarray(12)),
  );
  assert.deepEqual(new Uint8Array(viaWebCrypto), dek);
  assert.deepEqual(await symUnwrap(kek, wrapped, RECORD_ID), dek);
  assert.notDeepEqual(await symWrap(kek, dek, RECORD_ID), wrapped);
});

test('symmetric unwrap fails with EnvelopeOpenError for wrong KEK, wrong AAD or tampering', async () => {
  const kek = new Uint8Array(randomBytes(32));
  const wrapped = await symWrap(kek, new Uint8Array(32), RECORD_ID);
  await assert.rejects(symUnwrap(new Uint8Array(randomBytes(32)), wrapped, RECORD_ID), EnvelopeOpenError);
  await assert.rejects(symUnwrap(kek, wrapped, new Uint8Array(1)), EnvelopeOpenError);
  for (const at of [0, 12, wrapped.length - 1]) {
    const t = wrapped.slice();
    t[at]! ^= 1;
    await assert.rejects(symUnwrap(kek, t, RECORD_ID), EnvelopeOpenError);
  }
  await assert.rejects(symUnwrap(kek, wrapped.subarray(0, 20), RECORD_ID), EnvelopeOpenError);
});

test('batch pattern: one HPKE-wrapped batch key, each DEK wrapped under it', async () => {
  const batchKey = new Uint8Array(randomBytes(32));
  const batchEnvelope = encodeEnvelope({
    kind: 'hpke',
    data: await hpkeWrap(reader.publicKey, batchKey, te('batch-1')),
  });
  const ids = [1, 2, 3].map((i) => new Uint8Array(32).fill(i));
  const deks = ids.map(() => new Uint8Array(randomBytes(32)));
  const envelopes = await Promise.all(
    deks.map(async (dek, i) =>
      encodeEnvelope({ kind: 'wrapped', kekId: 'batch-1', data: await symWrap(batchKey, dek, ids[i]!) }),
    ),
  );
  const opened = decodeEnvelope(batchEnvelope);
  assert.equal(opened.kind, 'hpke');
  const recovered = await hpkeUnwrap(reader.privateKey, opened.data, te('batch-1'));
  for (const [i, text] of envelopes.entries()) {
    const env = decodeEnvelope(text);
    assert.ok(env.kind === 'wrapped' && env.kekId === 'batch-1');
    assert.deepEqual(await symUnwrap(recovered, env.data, ids[i]!), deks[i]);
  }
  // A DEK envelope moved to another record does not open.
  await assert.rejects(symUnwrap(recovered, decodeEnvelope(envelopes[0]!).data, ids[1]!), EnvelopeOpenError);
});

test('envelope encoding round-trips and is JSON/URL safe', () => {
  const data = new Uint8Array(randomBytes(80));
  const cases: Envelope[] = [
    { kind: 'hpke', data },
    { kind: 'wrapped', kekId: 'scope:0xabc_1-2', data },
  ];
  for (const env of cases) {
    const text = encodeEnvelope(env);
    assert.match(text, /^[A-Za-z0-9_.:-]+$/);
    assert.deepEqual(decodeEnvelope(text), env);
  }
  assert.equal(encodeEnvelope({ kind: 'hpke', data: new Uint8Array([0xfb, 0xff]) }), 'hpke1.-_8');
});

test('malformed envelopes throw InvalidEnvelopeError', () => {
  for (const bad of [
    '',
    'hpke1',
    'hpke1.',
    'hpke1.a+b',
    'hpke2.AAAA',
    'wrap1.AAAA',
    'wrap1..AAAA',
    'wrap1.a b.AAAA',
    'hpke1.AA.AA',
  ]) {
    assert.throws(() => decodeEnvelope(bad), InvalidEnvelopeError, bad);
  }
  assert.throws(
    () => encodeEnvelope({ kind: 'wrapped', kekId: 'has.dot', data: new Uint8Array(1) }),
    InvalidEnvelopeError,
  );
});
