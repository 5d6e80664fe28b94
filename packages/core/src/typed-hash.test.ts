import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToHex, type Hex, hashTypedData } from 'viem';
import { accessReceiptTypes, domainFor } from './eip712.ts';
import { typedDigester } from './typed-hash.ts';

const rnd = (n: number): Hex => bytesToHex(crypto.getRandomValues(new Uint8Array(n)));

test('digests equal viem hashTypedData for random access requests and receipts', () => {
  const domain = domainFor(31337, rnd(20));
  const request = typedDigester(domain, accessReceiptTypes, 'AccessRequest');
  const receipt = typedDigester(domain, accessReceiptTypes, 'AccessReceipt');
  for (let i = 0; i < 50; i++) {
    const req = {
      requester: rnd(20),
      owner: i % 5 === 0 ? '0x0000000000000000000000000000000000000000' : rnd(20),
      record: rnd(32),
      purpose: i % 4,
      time: BigInt(Math.floor(Math.random() * 2 ** 40)),
    };
    const msg = {
      request: req,
      owner: rnd(20),
      node: rnd(20),
      seq: BigInt(i * 977),
      outcome: 1 + (i % 2),
      loggedAt: 1_700_000_000n + BigInt(i),
    };
    assert.equal(
      request(req),
      hashTypedData({ domain, types: accessReceiptTypes, primaryType: 'AccessRequest', message: req }),
    );
    assert.equal(
      receipt(msg),
      hashTypedData({ domain, types: accessReceiptTypes, primaryType: 'AccessReceipt', message: msg }),
    );
  }
});

test('refuses values that do not fit their type', () => {
  const domain = domainFor(1, rnd(20));
  const request = typedDigester(domain, accessReceiptTypes, 'AccessRequest');
  const base = { requester: rnd(20), owner: rnd(20), record: rnd(32), purpose: 1, time: 1n };
  assert.throws(() => request({ ...base, purpose: 256 }), /uint8 out of range/);
  assert.throws(() => request({ ...base, time: -1n }), /uint64 out of range/);
  assert.throws(() => request({ ...base, record: rnd(20) }), /invalid bytes32/);
  assert.throws(() => request({ ...base, owner: rnd(32) }), /invalid address/);
});

test('an access receipt leaf is keccak256(keccak256(abi.encode(digest, keccak256(signature))))', async () => {
  const { accessReceiptLeaf } = await import('./eip712.ts');
  const { encodeAbiParameters, keccak256 } = await import('viem');
  for (const sig of [rnd(65), null]) {
    const digest = rnd(32);
    const expected = keccak256(
      keccak256(
        encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [digest, keccak256(sig ?? '0x')]),
      ),
    );
    assert.equal(accessReceiptLeaf(digest, sig), expected);
  }
});

test('recoverDigestSigner agrees with viem and refuses malformed or high-s signatures', async () => {
  const { recoverDigestSigner } = await import('./typed-hash.ts');
  const { generatePrivateKey, privateKeyToAccount } = await import('viem/accounts');
  const { recoverAddress } = await import('viem');
  const account = privateKeyToAccount(generatePrivateKey());
  for (let i = 0; i < 10; i++) {
    const digest = rnd(32);
    const sig = await account.sign({ hash: digest });
    assert.equal(recoverDigestSigner(digest, sig), account.address);
    assert.equal(recoverDigestSigner(digest, sig), await recoverAddress({ hash: digest, signature: sig }));
    assert.notEqual(recoverDigestSigner(rnd(32), sig), account.address);
  }
  const digest = rnd(32);
  const sig = await account.sign({ hash: digest });
  assert.equal(recoverDigestSigner(digest, `0x${sig.slice(2, 130)}`), undefined);
  assert.equal(recoverDigestSigner(digest, `${sig.slice(0, 130)}1f` as Hex), undefined);
  // s → n - s (the same signature's high-s twin) must not be accepted.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  const flipped =
    `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${sig.slice(130) === '1b' ? '1c' : '1b'}` as Hex;
  assert.equal(recoverDigestSigner(digest, flipped), undefined);
});
