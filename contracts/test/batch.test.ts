import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type AnchorFields,
  batchLeafOf,
  buildMerkleTree,
  type MerkleTree,
  Role,
  recordIdOf,
  ZERO_HASH,
} from '@medbloc/core';
import { type Hex, type PrivateKeyAccount, parseEventLogs } from 'viem';
import { type Fixture, newUser, randomHash, revertsWith, setup } from './fixture.ts';

const MAX_GAS_PER_RECORD = 1_000n;

let f: Fixture;
let authority: PrivateKeyAccount;
let provider: PrivateKeyAccount;
let patients: PrivateKeyAccount[];
before(async () => {
  f = await setup();
  authority = await f.addAuthority();
  provider = newUser();
  await f.register(provider, Role.provider);
  await f.certify(authority, provider.address, Role.provider);
  patients = [newUser(), newUser(), newUser()];
});
after(() => f.stop());

interface Batch {
  anchors: AnchorFields[];
  tree: MerkleTree;
}

function makeBatch(creator: PrivateKeyAccount, count: number, owners: PrivateKeyAccount[]): Batch {
  const anchors = Array.from({ length: count }, (_, i) => ({
    owner: owners[i % owners.length]!.address,
    creator: creator.address,
    digest: randomHash(),
    keyCommitment: randomHash(),
    supersedes: i % 10 === 9 ? randomHash() : ZERO_HASH,
  }));
  return { anchors, tree: buildMerkleTree(anchors.map(batchLeafOf)) };
}

async function anchorBatch(creator: PrivateKeyAccount, b: Batch) {
  const s = await f.signBatch(creator, {
    root: b.tree.root,
    count: b.anchors.length,
    manifest: randomHash(),
  });
  const receipt = await f.send(f.records, 'anchorBatchBySig', s.args);
  return { receipt, manifest: s.manifest };
}

function verify(root: Hex, a: AnchorFields, proof: Hex[]) {
  return f.read<boolean>(f.records, 'verifyBatched', [
    root,
    a.owner,
    a.creator,
    a.digest,
    a.keyCommitment,
    a.supersedes,
    proof,
  ]);
}

interface StoredBatch {
  creator: Hex;
  count: number;
  anchoredAt: number;
  creatorCertified: boolean;
}

test('a certified provider anchors 100 records in one transaction; every member verifies on chain', async () => {
  const b = makeBatch(provider, 100, patients);
  const { receipt, manifest } = await anchorBatch(provider, b);
  const [event] = parseEventLogs({ abi: f.records.abi, logs: receipt.logs, eventName: 'BatchAnchored' });
  assert.deepEqual(event?.args, { root: b.tree.root, creator: provider.address, count: 100, manifest });
  const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  assert.deepEqual(await f.read<StoredBatch>(f.records, 'batchOf', [b.tree.root]), {
    creator: provider.address,
    count: 100,
    anchoredAt: Number(block.timestamp),
    creatorCertified: true,
  });

  const results = await Promise.all(b.anchors.map((a, i) => verify(b.tree.root, a, b.tree.proof(i))));
  assert.ok(results.every(Boolean), 'every leaf verifies with its proof');
  // Batched records are not singly anchored.
  assert.equal(await f.read(f.records, 'exists', [recordIdOf(b.anchors[0]!)]), false);
});

test('verifyBatched is false for a tampered leaf, a wrong proof, a wrong root or another creator', async () => {
  const b = makeBatch(provider, 16, patients);
  await anchorBatch(provider, b);
  const a = b.anchors[5]!;
  const proof = b.tree.proof(5);
  assert.equal(await verify(b.tree.root, a, proof), true);
  for (const field of ['digest', 'keyCommitment', 'supersedes'] as const) {
    assert.equal(
      await verify(b.tree.root, { ...a, [field]: randomHash() }, proof),
      false,
      `tampered ${field}`,
    );
  }
  assert.equal(await verify(b.tree.root, { ...a, owner: newUser().address }, proof), false, 'tampered owner');
  assert.equal(await verify(b.tree.root, a, b.tree.proof(6)), false, "another leaf's proof");
  assert.equal(await verify(randomHash(), a, proof), false, 'unknown root');
  const other = makeBatch(provider, 16, patients);
  await anchorBatch(provider, other);
  assert.equal(await verify(other.tree.root, a, proof), false, "another batch's root");
  const impostor = newUser();
  assert.equal(
    await verify(b.tree.root, { ...a, creator: impostor.address }, proof),
    false,
    'another creator',
  );
});

test("an uncertified creator's batch proves only the creator's own records", async () => {
  const uncertified = newUser();
  await f.register(uncertified, Role.provider | Role.patient);
  const b = makeBatch(uncertified, 8, [uncertified, patients[0]!]);
  await anchorBatch(uncertified, b);
  const stored = await f.read<StoredBatch>(f.records, 'batchOf', [b.tree.root]);
  assert.equal(stored.creatorCertified, false);
  for (const [i, a] of b.anchors.entries()) {
    assert.equal(await verify(b.tree.root, a, b.tree.proof(i)), a.owner === uncertified.address, `leaf ${i}`);
  }
});

test('certification is judged when the batch is anchored, not when it is read', async () => {
  const doctor = newUser();
  await f.register(doctor, Role.provider);
  await f.certify(authority, doctor.address, Role.provider);
  const b = makeBatch(doctor, 4, patients);
  await anchorBatch(doctor, b);
  const revoke = await f.signRevoke(authority, { account: doctor.address, role: Role.provider });
  await f.send(f.accounts, 'revokeCertificationBySig', revoke.args);
  assert.equal(await verify(b.tree.root, b.anchors[0]!, b.tree.proof(0)), true, 'written while certified');

  const later = makeBatch(doctor, 4, patients);
  await anchorBatch(doctor, later);
  assert.equal(
    await verify(later.tree.root, later.anchors[0]!, later.tree.proof(0)),
    false,
    'written after revocation',
  );
});

test('batches reject a duplicate root, zero count, an unregistered creator and a forged signature', async () => {
  const b = makeBatch(provider, 4, patients);
  await anchorBatch(provider, b);
  await assert.rejects(anchorBatch(provider, b), revertsWith('RecordRegistryBatchExists'));

  const empty = await f.signBatch(provider, { root: randomHash(), count: 0, manifest: randomHash() });
  await assert.rejects(
    f.send(f.records, 'anchorBatchBySig', empty.args),
    revertsWith('RecordRegistryEmptyBatch'),
  );

  const stranger = newUser();
  await assert.rejects(
    anchorBatch(stranger, makeBatch(stranger, 2, [stranger])),
    revertsWith('RecordRegistryCreatorNotRegistered'),
  );

  const mallory = newUser();
  const forged = await f.signBatch(mallory, {
    creator: provider.address,
    root: randomHash(),
    count: 1,
    manifest: randomHash(),
  });
  await assert.rejects(
    f.send(f.records, 'anchorBatchBySig', forged.args),
    revertsWith('RecordRegistryInvalidSignature'),
  );
});

test(`batch anchoring costs at most ${MAX_GAS_PER_RECORD} gas per record`, async () => {
  const creator = newUser();
  await f.register(creator, Role.provider);
  await f.certify(authority, creator.address, Role.provider);
  const rows: string[] = [];
  const measure = async (label: string, count: number) => {
    const b = makeBatch(creator, count, patients);
    const { receipt } = await anchorBatch(creator, b);
    const last = count - 1;
    assert.equal(await verify(b.tree.root, b.anchors[last]!, b.tree.proof(last)), true);
    const perRecord = receipt.gasUsed / BigInt(count);
    rows.push(`${label}: ${receipt.gasUsed} gas, ${perRecord} gas/record`);
    return perRecord;
  };
  // A creator's first transaction on the registry also turns its nonce slot from zero to non-zero (+17,100 gas once).
  const first = await measure('100 leaves, first transaction of this creator', 100);
  const hundred = await measure('100 leaves', 100);
  const fiveHundred = await measure('500 leaves', 500);
  console.log(`batch anchoring gas:\n  ${rows.join('\n  ')}`);
  assert.ok(hundred <= MAX_GAS_PER_RECORD, `100 leaves: ${hundred} gas/record`);
  assert.ok(fiveHundred <= MAX_GAS_PER_RECORD / 5n, `500 leaves: ${fiveHundred} gas/record`);
  assert.ok(first <= 1_000n, `first batch: ${first} gas/record`);
});
