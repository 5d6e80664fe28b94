import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { InvalidKeystoreError, InvalidMnemonicError, WrongPassphraseError } from './errors.ts';
import { identityFromMnemonic } from './identity.ts';
import { DEFAULT_SCRYPT_N, decryptKeystore, encryptKeystore, type Keystore } from './keystore.ts';

const MNEMONIC = 'test test test test test test test test test test test junk';
const FAST = { scryptN: 2 ** 10 };

test('scrypt matches the RFC 7914 §12 test vector (N=16, r=1, p=1)', async () => {
  const out = await scryptAsync('', '', { N: 16, r: 1, p: 1, dkLen: 64 });
  assert.equal(
    Buffer.from(out).toString('hex'),
    '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  );
});

test('round trip with the default cost, JSON-serialisable, address in clear', async () => {
  const ks = await encryptKeystore(MNEMONIC, 'correct horse battery staple');
  assert.equal(ks.version, 1);
  assert.equal(ks.kdf.N, DEFAULT_SCRYPT_N);
  assert.equal(ks.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  const json = JSON.stringify(ks);
  assert.ok(!json.includes('junk'));
  assert.equal(await decryptKeystore(json, 'correct horse battery staple'), MNEMONIC);
});

test('each encryption uses fresh salt and iv', async () => {
  const a = await encryptKeystore(MNEMONIC, 'pw', FAST);
  const b = await encryptKeystore(MNEMONIC, 'pw', FAST);
  assert.notEqual(a.kdf.salt, b.kdf.salt);
  assert.notEqual(a.cipher.iv, b.cipher.iv);
  assert.notEqual(a.cipher.ciphertext, b.cipher.ciphertext);
});

test('passphrases are compared after NFKC normalisation', async () => {
  const ks = await encryptKeystore(MNEMONIC, 'caf\u00e9', FAST);
  assert.equal(await decryptKeystore(ks, 'cafe\u0301'), MNEMONIC);
});

test('wrong passphrase throws WrongPassphraseError', async () => {
  const ks = await encryptKeystore(MNEMONIC, 'right', FAST);
  await assert.rejects(decryptKeystore(ks, 'wrong'), WrongPassphraseError);
});

test('swapping the address, salt or ciphertext fails to decrypt', async () => {
  const ks = await encryptKeystore(MNEMONIC, 'pw', FAST);
  const other = identityFromMnemonic(MNEMONIC, { addressIndex: 1 }).address;
  await assert.rejects(decryptKeystore({ ...ks, address: other }, 'pw'), WrongPassphraseError);
  const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}` as `0x${string}`;
  await assert.rejects(
    decryptKeystore({ ...ks, kdf: { ...ks.kdf, salt: flip(ks.kdf.salt) } }, 'pw'),
    WrongPassphraseError,
  );
  await assert.rejects(
    decryptKeystore({ ...ks, cipher: { ...ks.cipher, ciphertext: flip(ks.cipher.ciphertext) } }, 'pw'),
    WrongPassphraseError,
  );
});

test('malformed keystores throw InvalidKeystoreError', async () => {
  const ks = await encryptKeystore(MNEMONIC, 'pw', FAST);
  const bad: unknown[] = [
    'not json',
    '{}',
    null,
    { ...ks, version: 2 },
    { ...ks, address: '0x1234' },
    { ...ks, kdf: { ...ks.kdf, name: 'pbkdf2' } },
    { ...ks, kdf: { ...ks.kdf, N: 1000 } },
    { ...ks, kdf: { ...ks.kdf, N: 2 ** 30 } },
    { ...ks, kdf: { ...ks.kdf, salt: '0x00' } },
    { ...ks, cipher: { ...ks.cipher, iv: 'zz' } },
    { ...ks, cipher: { ...ks.cipher, ciphertext: '0x' } },
  ];
  for (const b of bad) await assert.rejects(decryptKeystore(b as Keystore, 'pw'), InvalidKeystoreError);
});

test('an invalid phrase cannot be stored', async () => {
  await assert.rejects(encryptKeystore('hello world', 'pw', FAST), InvalidMnemonicError);
});
