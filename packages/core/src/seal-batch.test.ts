import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { Address, Hex } from 'viem';
import { batchLeafOf, recordIdOf } from './anchor.ts';
import { fromBase64Url, hexToBytes, utf8ToBytes } from './bytes.ts';
import { ZERO_HASH } from './eip712.ts';
import { decodeEnvelope, symUnwrap } from './envelope.ts';
import { InvalidArgumentError } from './errors.ts';
import { buildMerkleTree, verifyMerkleProof } from './merkle.ts';
import { generateDataKey, openBytes, verifyKeyCommitment } from './seal.ts';
import { sealRecordBatch } from './seal-batch.ts';

const owner = '0x1111111111111111111111111111111111111111' as Address;
const creator = '0x2222222222222222222222222222222222222222' as Address;
const previous = `0x${'ab'.repeat(32)}` as Hex;

function input(texts: string[]) {
  const plain = utf8ToBytes(texts.join(''));
  let end = 0;
  const ends = texts.map((t) => (end += utf8ToBytes(t).length));
  return { plain, ends };
}

test('every record of a sealed batch opens from its byte range with its wrapped key, and proves into the root', async () => {
  const texts = ['{"resourceType":"Patient"}', '', '{"note":"fièvre — 39 °C"}', 'x'.repeat(70_000)];
  const batchKey = generateDataKey();
  const scopeKey = generateDataKey();
  const out = await sealRecordBatch({
    owner,
    creator,
    batchKey,
    kekId: 'batch-1',
    ...input(texts),
    metas: texts.map((t, i) => JSON.stringify({ i, size: t.length })),
    supersedes: [undefined, previous, undefined, undefined],
    scopeOf: [-1, 0, 0, -1],
    scopeKeys: [{ kekId: 'scope-1', key: scopeKey }],
  });
  assert.equal(out.packDigest, `0x${createHash('sha256').update(out.pack).digest('hex')}`);
  const leaves = out.records.map(batchLeafOf);
  const tree = buildMerkleTree(leaves);
  assert.equal(out.root, tree.root);
  let offset = 0;
  for (const [i, r] of out.records.entries()) {
    assert.equal(r.offset, offset, 'records lie back to back in the pack');
    offset += r.length;
    const sealed = out.pack.subarray(r.offset, r.offset + r.length);
    assert.equal(r.digest, `0x${createHash('sha256').update(sealed).digest('hex')}`);
    assert.equal(r.recordId, recordIdOf(r));
    assert.equal(r.owner, owner);
    assert.equal(r.creator, creator);
    assert.equal(r.supersedes, i === 1 ? previous : ZERO_HASH);
    const env = decodeEnvelope(r.envelope);
    assert.ok(env.kind === 'wrapped' && env.kekId === 'batch-1');
    const dek = await symUnwrap(batchKey, env.data, hexToBytes(r.recordId));
    assert.ok(verifyKeyCommitment(dek, sealed, r.keyCommitment));
    assert.equal(new TextDecoder().decode(await openBytes(sealed, dek)), texts[i]);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await openBytes(fromBase64Url(r.encMeta), dek))), {
      i,
      size: texts[i]!.length,
    });
    if (i === 1 || i === 2) {
      const scoped = decodeEnvelope(r.scope!.envelope);
      assert.ok(scoped.kind === 'wrapped' && scoped.kekId === 'scope-1');
      assert.deepEqual(await symUnwrap(scopeKey, scoped.data, hexToBytes(r.recordId)), dek);
    } else assert.equal(r.scope, undefined);
    assert.ok(verifyMerkleProof(leaves[i]!, tree.proof(i), out.root));
  }
  assert.equal(offset, out.pack.length);
  // A fresh data key per record: the same plaintext twice gives two ciphertexts and two record ids.
  const twice = await sealRecordBatch({
    owner,
    creator,
    batchKey,
    kekId: 'batch-2',
    ...input(['same', 'same']),
    metas: ['{}', '{}'],
  });
  assert.notEqual(twice.records[0]!.digest, twice.records[1]!.digest);
});

test('a batch with no records, a metadata entry missing, or a range past the plaintext is refused', async () => {
  const base = { owner, creator, batchKey: generateDataKey(), kekId: 'k' };
  await assert.rejects(
    sealRecordBatch({ ...base, plain: new Uint8Array(), ends: [], metas: [] }),
    InvalidArgumentError,
  );
  await assert.rejects(
    sealRecordBatch({ ...base, plain: new Uint8Array(4), ends: [2, 4], metas: ['{}'] }),
    InvalidArgumentError,
  );
  await assert.rejects(
    sealRecordBatch({ ...base, plain: new Uint8Array(4), ends: [2, 9], metas: ['{}', '{}'] }),
    InvalidArgumentError,
  );
});
