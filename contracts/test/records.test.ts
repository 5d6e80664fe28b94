import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type AnchorFields, Role, recordIdOf, ZERO_HASH } from '@medbloc/core';
import { domainSeparator, type Hex, type PrivateKeyAccount, parseEventLogs } from 'viem';
import { type Fixture, newUser, randomHash, revertsWith, setup } from './fixture.ts';

let f: Fixture;
let authority: PrivateKeyAccount;
let patient: PrivateKeyAccount;
let otherPatient: PrivateKeyAccount;
before(async () => {
  f = await setup();
  authority = await f.addAuthority();
  patient = newUser();
  otherPatient = newUser();
  await f.register(patient, Role.patient);
  await f.register(otherPatient, Role.patient);
});
after(() => f.stop());

function anchorFor(
  owner: PrivateKeyAccount,
  creator: PrivateKeyAccount,
  supersedes: Hex = ZERO_HASH,
): AnchorFields {
  return {
    owner: owner.address,
    creator: creator.address,
    digest: randomHash(),
    keyCommitment: randomHash(),
    supersedes,
  };
}

async function anchor(signer: PrivateKeyAccount, a: AnchorFields) {
  const s = await f.signAnchor(signer, a);
  return f.send(f.records, 'anchorBySig', s.args);
}

interface StoredAnchor {
  owner: Hex;
  anchoredAt: bigint;
  creator: Hex;
  digest: Hex;
  keyCommitment: Hex;
  supersedes: Hex;
}

test('the records domain is "MedBloc" version 1, and the registry points at the AccountRegistry', async () => {
  assert.equal(await f.read(f.records, 'DOMAIN_SEPARATOR'), domainSeparator({ domain: f.recordsDomain }));
  assert.equal(await f.read(f.records, 'accountRegistry'), f.deployment.accountRegistry);
});

test('a patient anchors their own record under the id core computes', async () => {
  const a = anchorFor(patient, patient);
  const recordId = recordIdOf(a);
  assert.equal(await f.read(f.records, 'exists', [recordId]), false);
  const receipt = await anchor(patient, a);
  const [event] = parseEventLogs({ abi: f.records.abi, logs: receipt.logs, eventName: 'RecordAnchored' });
  assert.deepEqual(event?.args, { recordId, ...a });
  assert.equal(await f.read(f.records, 'exists', [recordId]), true);
  const stored = await f.read<StoredAnchor>(f.records, 'anchorOf', [recordId]);
  const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  assert.deepEqual(stored, { ...a, anchoredAt: block.timestamp });
  assert.equal(await f.nonceOf(f.records, patient.address), 1n);
  console.log(`single anchor: ${receipt.gasUsed} gas`);
});

test('the same record cannot be anchored twice (append-only)', async () => {
  const a = anchorFor(patient, patient);
  await anchor(patient, a);
  // Same owner, creator and digest: the same record id, even with another key commitment.
  await assert.rejects(
    anchor(patient, { ...a, keyCommitment: randomHash() }),
    revertsWith('RecordRegistryRecordExists'),
  );
});

test('a provider anchors for a patient only while certified', async () => {
  const provider = newUser();
  await f.register(provider, Role.provider);
  await assert.rejects(
    anchor(provider, anchorFor(patient, provider)),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );

  await f.certify(authority, provider.address, Role.provider, 3600n);
  const a = anchorFor(patient, provider);
  await anchor(provider, a);
  const stored = await f.read<StoredAnchor>(f.records, 'anchorOf', [recordIdOf(a)]);
  assert.equal(stored.owner, patient.address);
  assert.equal(stored.creator, provider.address);

  await f.advance(3600n);
  await assert.rejects(
    anchor(provider, anchorFor(patient, provider)),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );

  await f.certify(authority, provider.address, Role.provider);
  await anchor(provider, anchorFor(patient, provider));
  const revoke = await f.signRevoke(authority, { account: provider.address, role: Role.provider });
  await f.send(f.accounts, 'revokeCertificationBySig', revoke.args);
  await assert.rejects(
    anchor(provider, anchorFor(patient, provider)),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );

  // A researcher certification does not let anyone write records for others.
  const researcher = newUser();
  await f.register(researcher, Role.researcher);
  await f.certify(authority, researcher.address, Role.researcher);
  await assert.rejects(
    anchor(researcher, anchorFor(patient, researcher)),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );
});

test('the owner must be registered', async () => {
  const stranger = newUser();
  await assert.rejects(
    anchor(stranger, anchorFor(stranger, stranger)),
    revertsWith('RecordRegistryOwnerNotRegistered'),
  );
});

test('anchors reject expired and forged signatures, and a replayed signature cannot be reused', async () => {
  const a = anchorFor(patient, patient);
  const late = await f.signAnchor(patient, a, { deadline: (await f.now()) - 1n });
  await assert.rejects(
    f.send(f.records, 'anchorBySig', late.args),
    revertsWith('RecordRegistryExpiredSignature'),
  );

  // Mallory, uncertified, tries to write into the patient's record set by signing as herself but naming the patient.
  const mallory = newUser();
  const forged = await f.signAnchor(mallory, a);
  await assert.rejects(
    f.send(f.records, 'anchorBySig', forged.args),
    revertsWith('RecordRegistryInvalidSignature'),
  );

  // A signature made for one nonce does not verify after the nonce has moved on (here: used by another anchor).
  const stale = await f.signAnchor(patient, a);
  await anchor(patient, anchorFor(patient, patient));
  await assert.rejects(
    f.send(f.records, 'anchorBySig', stale.args),
    revertsWith('RecordRegistryInvalidSignature'),
  );
  assert.equal(await f.read(f.records, 'exists', [recordIdOf(a)]), false);
});

test('a record supersedes an earlier record of the same owner only', async () => {
  const original = anchorFor(patient, patient);
  await anchor(patient, original);
  const correction = anchorFor(patient, patient, recordIdOf(original));
  await anchor(patient, correction);
  const stored = await f.read<StoredAnchor>(f.records, 'anchorOf', [recordIdOf(correction)]);
  assert.equal(stored.supersedes, recordIdOf(original));

  // Another patient cannot attach a correction to this patient's record.
  await assert.rejects(
    anchor(otherPatient, anchorFor(otherPatient, otherPatient, recordIdOf(original))),
    revertsWith('RecordRegistrySupersedesOtherOwner'),
  );

  // A record cannot supersede itself.
  const self = anchorFor(patient, patient);
  await assert.rejects(
    anchor(patient, { ...self, supersedes: recordIdOf(self) }),
    revertsWith('RecordRegistrySupersedesItself'),
  );

  // An id not anchored singly may name a batched record, which the contract cannot see: accepted, checked off chain.
  const unknown = randomHash();
  await anchor(patient, anchorFor(patient, patient, unknown));
});
