import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { test } from 'node:test';
import { mnemonicToSeedSync } from '@scure/bip39';
import { mnemonicToAccount } from 'viem/accounts';
import { InvalidMnemonicError, isMedblocError } from './errors.ts';
import { encryptionKeyHex, generateMnemonic, identityFromMnemonic } from './identity.ts';

const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

test('the standard test mnemonic yields the well-known account #0 (same as MetaMask / anvil)', () => {
  const id = identityFromMnemonic(TEST_MNEMONIC);
  assert.equal(id.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  assert.equal(id.signingKey, '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
  assert.equal(id.account.address, id.address);
  assert.equal(id.mnemonic, TEST_MNEMONIC);
});

test('address index follows viem mnemonicToAccount', () => {
  for (const addressIndex of [1, 3, 9]) {
    assert.equal(
      identityFromMnemonic(TEST_MNEMONIC, { addressIndex }).address,
      mnemonicToAccount(TEST_MNEMONIC, { addressIndex }).address,
    );
  }
});

test('BIP-39 passphrase changes the account (Trezor vector seed is used)', () => {
  const m = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
  // BIP-39 reference vector: entropy 00…00, passphrase TREZOR.
  assert.equal(
    Buffer.from(mnemonicToSeedSync(m, 'TREZOR')).toString('hex'),
    'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
  );
  const plain = identityFromMnemonic(m);
  const withPass = identityFromMnemonic(m, { passphrase: 'TREZOR' });
  assert.notEqual(plain.address, withPass.address);
  assert.equal(withPass.address, mnemonicToAccount(m, { passphrase: 'TREZOR' }).address);
});

test('X25519 key is HKDF-SHA256(seed, "MedBloc", "x25519 encryption key v1") (checked with node:crypto)', () => {
  const id = identityFromMnemonic(TEST_MNEMONIC);
  const seed = mnemonicToSeedSync(TEST_MNEMONIC);
  const expected = new Uint8Array(hkdfSync('sha256', seed, 'MedBloc', 'x25519 encryption key v1', 32));
  assert.deepEqual(id.encryption.privateKey, expected);
  // Known answer, pinned so a refactor cannot silently change every user's encryption key.
  assert.equal(encryptionKeyHex(id), '0x5838b214a3a08a767b6adbc3fc46cae4d64216f2f2ade062b4f45b3ff6295f4e');
  assert.equal(id.encryption.publicKey.length, 32);
  // The encryption key does not depend on the account index.
  assert.deepEqual(identityFromMnemonic(TEST_MNEMONIC, { addressIndex: 5 }).encryption, id.encryption);
});

test('a phrase typed with capitals and extra spaces restores the same identity', () => {
  const id = identityFromMnemonic(`  ${TEST_MNEMONIC.toUpperCase().replaceAll(' ', '   ')}\n`);
  assert.equal(id.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
});

test('generateMnemonic produces valid, distinct phrases of 12 or 24 words', () => {
  const a = generateMnemonic();
  const b = generateMnemonic();
  assert.equal(a.split(' ').length, 12);
  assert.notEqual(a, b);
  assert.equal(generateMnemonic(256).split(' ').length, 24);
  assert.notEqual(identityFromMnemonic(a).address, identityFromMnemonic(b).address);
});

test('invalid phrases throw InvalidMnemonicError', () => {
  for (const bad of ['', 'test test test', `${TEST_MNEMONIC.slice(0, -4)}test`, 'notaword '.repeat(12)]) {
    assert.throws(
      () => identityFromMnemonic(bad),
      (e) => e instanceof InvalidMnemonicError && isMedblocError(e, 'INVALID_MNEMONIC'),
    );
  }
});
