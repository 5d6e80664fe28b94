/**
 * Delegation on a real anvil: patients appoint and revoke guardians and carers, a guardian of a minor revokes carers,
 * recovery guardians are committed by hash; and a delegate anchors records for the patient (creator = delegate).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { delegationAbi } from '@medbloc/contracts';
import {
  type AnchorFields,
  appointDelegateTypes,
  batchLeafOf,
  buildMerkleTree,
  DelegateKind,
  domainFor,
  guardianSetHash,
  Role,
  recordIdOf,
  revokeDelegateTypes,
  setMinorTypes,
  setRecoveryGuardiansTypes,
  ZERO_HASH,
} from '@medbloc/core';
import { type Address, domainSeparator, type Hex, type PrivateKeyAccount, parseEventLogs } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type Fixture, FUNDED_KEY, HOUR, newUser, randomHash, revertsWith, setup } from './fixture.ts';

let f: Fixture;
let delegation: { address: Address; abi: typeof delegationAbi };
let domain: ReturnType<typeof domainFor>;
let patient: PrivateKeyAccount;

before(async () => {
  f = await setup();
  const c = await f.deployConsent();
  delegation = { address: c.delegation, abi: delegationAbi };
  domain = domainFor(f.deployment.chainId, c.delegation);
  patient = newUser();
  await f.register(patient, Role.patient);
});
after(() => f.stop());

async function signAppoint(
  p: PrivateKeyAccount,
  delegate: Address,
  kind: number,
  opts: { expiresAt?: bigint; deadline?: bigint; patient?: Address } = {},
) {
  const message = {
    patient: opts.patient ?? p.address,
    delegate,
    kind,
    expiresAt: opts.expiresAt ?? 0n,
    nonce: await f.nonceOf(delegation, opts.patient ?? p.address),
    deadline: opts.deadline ?? (await f.deadline()),
  };
  const signature = await p.signTypedData({
    domain,
    types: appointDelegateTypes,
    primaryType: 'AppointDelegate',
    message,
  });
  return [message.patient, delegate, kind, message.expiresAt, message.deadline, signature];
}

async function appoint(p: PrivateKeyAccount, delegate: Address, kind: number, expiresAt = 0n) {
  return f.send(delegation, 'appointDelegateBySig', await signAppoint(p, delegate, kind, { expiresAt }));
}

async function signRevokeDelegate(signer: PrivateKeyAccount, patientAddress: Address, delegate: Address) {
  const message = {
    patient: patientAddress,
    delegate,
    nonce: await f.nonceOf(delegation, signer.address),
    deadline: await f.deadline(),
  };
  const signature = await signer.signTypedData({
    domain,
    types: revokeDelegateTypes,
    primaryType: 'RevokeDelegate',
    message,
  });
  return [patientAddress, delegate, signer.address, message.deadline, signature];
}

async function revokeDelegate(signer: PrivateKeyAccount, patientAddress: Address, delegate: Address) {
  return f.send(
    delegation,
    'revokeDelegateBySig',
    await signRevokeDelegate(signer, patientAddress, delegate),
  );
}

async function setMinor(p: PrivateKeyAccount, minor: boolean) {
  const message = {
    patient: p.address,
    minor,
    nonce: await f.nonceOf(delegation, p.address),
    deadline: await f.deadline(),
  };
  const signature = await p.signTypedData({ domain, types: setMinorTypes, primaryType: 'SetMinor', message });
  return f.send(delegation, 'setMinorBySig', [p.address, minor, message.deadline, signature]);
}

async function signRecovery(p: PrivateKeyAccount, guardiansHash: Hex, threshold: number) {
  const message = {
    patient: p.address,
    guardiansHash,
    threshold,
    nonce: await f.nonceOf(delegation, p.address),
    deadline: await f.deadline(),
  };
  const signature = await p.signTypedData({
    domain,
    types: setRecoveryGuardiansTypes,
    primaryType: 'SetRecoveryGuardians',
    message,
  });
  return [p.address, guardiansHash, threshold, message.deadline, signature];
}

const isDelegate = (p: Address, account: Address) => f.read<boolean>(delegation, 'isDelegate', [p, account]);

test('the delegation domain is "MedBloc" version 1; kinds are guardian 1 and carer 2', async () => {
  assert.equal(await f.read(delegation, 'DOMAIN_SEPARATOR'), domainSeparator({ domain }));
  assert.equal(await f.read(delegation, 'GUARDIAN'), DelegateKind.guardian);
  assert.equal(await f.read(delegation, 'CARER'), DelegateKind.carer);
});

test('a patient appoints a carer, with an expiry; the delegation lapses then', async () => {
  const carer = newUser();
  assert.equal(await isDelegate(patient.address, carer.address), false);
  const expiresAt = (await f.now()) + HOUR;
  const receipt = await appoint(patient, carer.address, DelegateKind.carer, expiresAt);
  const [event] = parseEventLogs({ abi: delegation.abi, logs: receipt.logs, eventName: 'DelegateAppointed' });
  assert.deepEqual(event?.args, {
    patient: patient.address,
    delegate: carer.address,
    kind: DelegateKind.carer,
    expiresAt,
  });
  assert.equal(await isDelegate(patient.address, carer.address), true);
  const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  assert.deepEqual(await f.read(delegation, 'appointmentOf', [patient.address, carer.address]), [
    DelegateKind.carer,
    block.timestamp,
    expiresAt,
    0n,
  ]);
  console.log(`appoint a delegate: ${receipt.gasUsed} gas`);
  await f.advance(HOUR);
  assert.equal(await isDelegate(patient.address, carer.address), false);
  assert.equal(
    await f.read(delegation, 'wasDelegateAt', [patient.address, carer.address, block.timestamp]),
    true,
  );
});

test('a patient revokes a delegate; replayed, expired and forged signatures are rejected', async () => {
  const guardian = newUser();
  const args = await signAppoint(patient, guardian.address, DelegateKind.guardian);
  await f.send(delegation, 'appointDelegateBySig', args);
  await assert.rejects(
    f.send(delegation, 'appointDelegateBySig', args),
    revertsWith('DelegationInvalidSignature'),
  );

  const late = await signAppoint(patient, guardian.address, DelegateKind.guardian, {
    deadline: (await f.now()) - 1n,
  });
  await assert.rejects(
    f.send(delegation, 'appointDelegateBySig', late),
    revertsWith('DelegationExpiredSignature'),
  );

  // Mallory appoints herself as the patient's guardian.
  const mallory = newUser();
  const forged = await signAppoint(mallory, mallory.address, DelegateKind.guardian, {
    patient: patient.address,
  });
  await assert.rejects(
    f.send(delegation, 'appointDelegateBySig', forged),
    revertsWith('DelegationInvalidSignature'),
  );
  // …or revokes the real guardian.
  await assert.rejects(
    revokeDelegate(mallory, patient.address, guardian.address),
    revertsWith('DelegationUnauthorizedSigner'),
  );

  const receipt = await revokeDelegate(patient, patient.address, guardian.address);
  const [event] = parseEventLogs({ abi: delegation.abi, logs: receipt.logs, eventName: 'DelegateRevoked' });
  assert.deepEqual(event?.args, {
    patient: patient.address,
    delegate: guardian.address,
    signer: patient.address,
  });
  assert.equal(await isDelegate(patient.address, guardian.address), false);
  await assert.rejects(
    revokeDelegate(patient, patient.address, guardian.address),
    revertsWith('DelegationNotDelegate'),
  );
});

test('appointments reject the zero address, the patient itself, unknown kinds and past expiries', async () => {
  const someone = newUser().address;
  await assert.rejects(
    appoint(patient, '0x0000000000000000000000000000000000000000', DelegateKind.carer),
    revertsWith('DelegationInvalidDelegate'),
  );
  await assert.rejects(
    appoint(patient, patient.address, DelegateKind.carer),
    revertsWith('DelegationInvalidDelegate'),
  );
  for (const kind of [0, 3]) {
    await assert.rejects(appoint(patient, someone, kind), revertsWith('DelegationInvalidKind'));
  }
  await assert.rejects(
    appoint(patient, someone, DelegateKind.carer, await f.now()),
    revertsWith('DelegationInvalidExpiry'),
  );
});

test('minor policy: while the patient is a minor, a guardian revokes carers, not guardians', async () => {
  const child = newUser();
  const guardian = newUser();
  const otherGuardian = newUser();
  const carer = newUser();
  await appoint(child, guardian.address, DelegateKind.guardian);
  await appoint(child, otherGuardian.address, DelegateKind.guardian);
  await appoint(child, carer.address, DelegateKind.carer);

  // Not flagged minor: the guardian may not revoke anyone.
  await assert.rejects(
    revokeDelegate(guardian, child.address, carer.address),
    revertsWith('DelegationUnauthorizedSigner'),
  );
  const flagged = await setMinor(child, true);
  const [event] = parseEventLogs({ abi: delegation.abi, logs: flagged.logs, eventName: 'MinorStatusSet' });
  assert.deepEqual(event?.args, { patient: child.address, minor: true });
  assert.equal(await f.read(delegation, 'isMinor', [child.address]), true);

  await assert.rejects(
    revokeDelegate(guardian, child.address, otherGuardian.address),
    revertsWith('DelegationUnauthorizedSigner'),
  );
  await assert.rejects(
    revokeDelegate(carer, child.address, guardian.address),
    revertsWith('DelegationUnauthorizedSigner'),
  );
  const receipt = await revokeDelegate(guardian, child.address, carer.address);
  const [revoked] = parseEventLogs({ abi: delegation.abi, logs: receipt.logs, eventName: 'DelegateRevoked' });
  assert.equal(revoked?.args.signer, guardian.address);
  assert.equal(await isDelegate(child.address, carer.address), false);

  // A revoked guardian loses the power; unflagging ends it for all.
  await revokeDelegate(child, child.address, otherGuardian.address);
  const carer2 = newUser();
  await appoint(child, carer2.address, DelegateKind.carer);
  await assert.rejects(
    revokeDelegate(otherGuardian, child.address, carer2.address),
    revertsWith('DelegationUnauthorizedSigner'),
  );
  await setMinor(child, false);
  await assert.rejects(
    revokeDelegate(guardian, child.address, carer2.address),
    revertsWith('DelegationUnauthorizedSigner'),
  );
});

test('recovery guardians are committed by a salted hash and a threshold; both zero clears', async () => {
  const guardians = [newUser().address, newUser().address, newUser().address];
  const guardiansHash = guardianSetHash(guardians, randomHash());
  const receipt = await f.send(
    delegation,
    'setRecoveryGuardiansBySig',
    await signRecovery(patient, guardiansHash, 2),
  );
  const [event] = parseEventLogs({
    abi: delegation.abi,
    logs: receipt.logs,
    eventName: 'RecoveryGuardiansSet',
  });
  assert.deepEqual(event?.args, { patient: patient.address, guardiansHash, threshold: 2 });
  const [hash, threshold] = await f.read<[Hex, number, bigint]>(delegation, 'recoveryGuardiansOf', [
    patient.address,
  ]);
  assert.equal(hash, guardiansHash);
  assert.equal(threshold, 2);

  for (const [h, t] of [
    [guardiansHash, 0],
    [ZERO_HASH, 2],
  ] as const) {
    await assert.rejects(
      f.send(delegation, 'setRecoveryGuardiansBySig', await signRecovery(patient, h, t)),
      revertsWith('DelegationInvalidRecoveryGuardians'),
    );
  }
  const mallory = newUser();
  const forged = await signRecovery(mallory, guardianSetHash([mallory.address], randomHash()), 1);
  forged[0] = patient.address;
  await assert.rejects(
    f.send(delegation, 'setRecoveryGuardiansBySig', forged),
    revertsWith('DelegationInvalidSignature'),
  );
  await f.send(delegation, 'setRecoveryGuardiansBySig', await signRecovery(patient, ZERO_HASH, 0));
  const [cleared] = await f.read<[Hex, number, bigint]>(delegation, 'recoveryGuardiansOf', [patient.address]);
  assert.equal(cleared, ZERO_HASH);
});

function anchorFor(owner: Address, creator: Address): AnchorFields {
  return { owner, creator, digest: randomHash(), keyCommitment: randomHash(), supersedes: ZERO_HASH };
}

test('a delegate anchors a record for the patient (creator = delegate) while appointed, and only then', async () => {
  const carer = newUser(); // neither registered nor certified
  const a = anchorFor(patient.address, carer.address);
  const before = await f.signAnchor(carer, a);
  await assert.rejects(
    f.send(f.records, 'anchorBySig', before.args),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );

  await appoint(patient, carer.address, DelegateKind.carer);
  const s = await f.signAnchor(carer, a);
  const receipt = await f.send(f.records, 'anchorBySig', s.args);
  const [event] = parseEventLogs({ abi: f.records.abi, logs: receipt.logs, eventName: 'RecordAnchored' });
  assert.equal(event?.args.owner, patient.address);
  assert.equal(event?.args.creator, carer.address);
  assert.equal(event?.args.recordId, recordIdOf(a));
  console.log(`single anchor by a delegate: ${receipt.gasUsed} gas`);

  // The delegate of one patient writes nothing for another.
  const other = newUser();
  await f.register(other, Role.patient);
  const foreign = await f.signAnchor(carer, anchorFor(other.address, carer.address));
  await assert.rejects(
    f.send(f.records, 'anchorBySig', foreign.args),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );

  await revokeDelegate(patient, patient.address, carer.address);
  const after = await f.signAnchor(carer, anchorFor(patient.address, carer.address));
  await assert.rejects(
    f.send(f.records, 'anchorBySig', after.args),
    revertsWith('RecordRegistryCreatorNotCertified'),
  );
});

test("a delegate's batch proves the patient's records, judged at batch time", async () => {
  const carer = newUser();
  await f.register(carer, Role.patient); // batches need a registered creator
  await appoint(patient, carer.address, DelegateKind.carer);
  const anchors = [anchorFor(patient.address, carer.address), anchorFor(patient.address, carer.address)];
  const tree = buildMerkleTree(anchors.map(batchLeafOf));
  const s = await f.signBatch(carer, { root: tree.root, count: 2, manifest: randomHash() });
  await f.send(f.records, 'anchorBatchBySig', s.args);
  const verify = (root: Hex, a: AnchorFields, proof: Hex[]) =>
    f.read<boolean>(f.records, 'verifyBatched', [
      root,
      a.owner,
      a.creator,
      a.digest,
      a.keyCommitment,
      a.supersedes,
      proof,
    ]);
  assert.equal(await verify(tree.root, anchors[0]!, tree.proof(0)), true);
  assert.equal(await verify(tree.root, anchors[1]!, tree.proof(1)), true);

  // A leaf for a patient the carer does not act for is refused.
  const stranger = newUser();
  const mixed = [anchorFor(stranger.address, carer.address), anchorFor(patient.address, carer.address)];
  const mixedTree = buildMerkleTree(mixed.map(batchLeafOf));
  const m = await f.signBatch(carer, { root: mixedTree.root, count: 2, manifest: randomHash() });
  await f.send(f.records, 'anchorBatchBySig', m.args);
  assert.equal(await verify(mixedTree.root, mixed[0]!, mixedTree.proof(0)), false);
  assert.equal(await verify(mixedTree.root, mixed[1]!, mixedTree.proof(1)), true);

  // Revoking the carer later does not undo what they wrote while appointed; a batch after revocation proves nothing.
  await f.advance(10n);
  await revokeDelegate(patient, patient.address, carer.address);
  assert.equal(await verify(tree.root, anchors[0]!, tree.proof(0)), true);
  const late = [anchorFor(patient.address, carer.address)];
  const lateTree = buildMerkleTree(late.map(batchLeafOf));
  const l = await f.signBatch(carer, { root: lateTree.root, count: 1, manifest: randomHash() });
  await f.send(f.records, 'anchorBatchBySig', l.args);
  assert.equal(await verify(lateTree.root, late[0]!, lateTree.proof(0)), false);
});

test('RecordRegistry takes its Delegation once, from an AccountRegistry admin', async () => {
  assert.equal(await f.read(f.records, 'delegation'), delegation.address);
  await assert.rejects(
    f.send(f.records, 'setDelegation', [delegation.address]),
    revertsWith('RecordRegistryDelegationAlreadySet'),
  );
  await assert.rejects(
    f.send(f.records, 'setDelegation', [delegation.address], privateKeyToAccount(FUNDED_KEY)),
    revertsWith('RecordRegistryUnauthorizedAccount'),
  );
});
