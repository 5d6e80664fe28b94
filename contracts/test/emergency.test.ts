/**
 * EmergencyAccess on a real anvil: only a currently certified provider records a break-glass request, on their own
 * signature; the request id is derived from the signed fields and the provider's nonce.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { emergencyAccessAbi } from '@medbloc/contracts';
import { breakGlassTypes, domainFor, Role } from '@medbloc/core';
import {
  type Address,
  domainSeparator,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type PrivateKeyAccount,
  parseEventLogs,
  toHex,
} from 'viem';
import { type Fixture, HOUR, newUser, revertsWith, setup } from './fixture.ts';

let f: Fixture;
let emergency: { address: Address; abi: typeof emergencyAccessAbi };
let domain: ReturnType<typeof domainFor>;
let authority: PrivateKeyAccount;
let patient: PrivateKeyAccount;
let provider: PrivateKeyAccount;

before(async () => {
  f = await setup();
  const c = await f.deployConsent();
  emergency = { address: c.emergencyAccess, abi: emergencyAccessAbi };
  domain = domainFor(f.deployment.chainId, c.emergencyAccess);
  authority = await f.addAuthority();
  patient = newUser();
  provider = newUser();
  await f.register(patient, Role.patient);
  await f.register(provider, Role.provider);
  await f.certify(authority, provider.address, Role.provider);
});
after(() => f.stop());

const reasonHash = (text: string): Hex => keccak256(toHex(text));

async function signRequest(
  signer: PrivateKeyAccount,
  m: { provider?: Address; patient: Address; reasonHash: Hex; deadline?: bigint },
) {
  const who = m.provider ?? signer.address;
  const message = {
    provider: who,
    patient: m.patient,
    reasonHash: m.reasonHash,
    nonce: await f.nonceOf(emergency, who),
    deadline: m.deadline ?? (await f.deadline()),
  };
  const signature = await signer.signTypedData({
    domain,
    types: breakGlassTypes,
    primaryType: 'BreakGlass',
    message,
  });
  return { ...message, args: [who, m.patient, m.reasonHash, message.deadline, signature] };
}

test('the emergency domain is "MedBloc" version 1 and points at the AccountRegistry', async () => {
  assert.equal(await f.read(emergency, 'DOMAIN_SEPARATOR'), domainSeparator({ domain }));
  assert.equal(await f.read(emergency, 'accountRegistry'), f.deployment.accountRegistry);
});

test('a certified provider breaks the glass: the request is recorded under the id derived from its fields', async () => {
  const s = await signRequest(provider, {
    patient: patient.address,
    reasonHash: reasonHash('unconscious, ER'),
  });
  const receipt = await f.send(emergency, 'requestBySig', s.args);
  const requestId = keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }],
      [provider.address, patient.address, s.reasonHash, s.nonce],
    ),
  );
  const [event] = parseEventLogs({
    abi: emergency.abi,
    logs: receipt.logs,
    eventName: 'BreakGlassRequested',
  });
  assert.deepEqual(event?.args, {
    requestId,
    provider: provider.address,
    patient: patient.address,
    reasonHash: s.reasonHash,
  });
  const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  assert.deepEqual(await f.read(emergency, 'requestOf', [requestId]), [
    provider.address,
    patient.address,
    block.timestamp,
  ]);
  console.log(`break-glass request: ${receipt.gasUsed} gas`);
  // The same reason again is a new request (the nonce moved on).
  const again = await signRequest(provider, { patient: patient.address, reasonHash: s.reasonHash });
  const second = await f.send(emergency, 'requestBySig', again.args);
  const [e2] = parseEventLogs({ abi: emergency.abi, logs: second.logs, eventName: 'BreakGlassRequested' });
  assert.notEqual(e2?.args.requestId, requestId);
});

test('only a currently certified provider may break the glass', async () => {
  const uncertified = newUser();
  await f.register(uncertified, Role.provider);
  const reason = reasonHash('curious');
  const s1 = await signRequest(uncertified, { patient: patient.address, reasonHash: reason });
  await assert.rejects(
    f.send(emergency, 'requestBySig', s1.args),
    revertsWith('EmergencyAccessProviderNotCertified'),
  );
  // A certified researcher is not a provider.
  const researcher = newUser();
  await f.register(researcher, Role.researcher);
  await f.certify(authority, researcher.address, Role.researcher);
  const s2 = await signRequest(researcher, { patient: patient.address, reasonHash: reason });
  await assert.rejects(
    f.send(emergency, 'requestBySig', s2.args),
    revertsWith('EmergencyAccessProviderNotCertified'),
  );
  // A lapsed certification, and a revoked one.
  const lapsing = newUser();
  await f.register(lapsing, Role.provider);
  await f.certify(authority, lapsing.address, Role.provider, HOUR);
  await f.advance(HOUR);
  const s3 = await signRequest(lapsing, { patient: patient.address, reasonHash: reason });
  await assert.rejects(
    f.send(emergency, 'requestBySig', s3.args),
    revertsWith('EmergencyAccessProviderNotCertified'),
  );
  const revoked = newUser();
  await f.register(revoked, Role.provider);
  await f.certify(authority, revoked.address, Role.provider);
  const r = await f.signRevoke(authority, { account: revoked.address, role: Role.provider });
  await f.send(f.accounts, 'revokeCertificationBySig', r.args);
  const s4 = await signRequest(revoked, { patient: patient.address, reasonHash: reason });
  await assert.rejects(
    f.send(emergency, 'requestBySig', s4.args),
    revertsWith('EmergencyAccessProviderNotCertified'),
  );
});

test('replayed, expired and forged requests, unknown patients and empty reasons are rejected', async () => {
  const s = await signRequest(provider, { patient: patient.address, reasonHash: reasonHash('trauma') });
  await f.send(emergency, 'requestBySig', s.args);
  await assert.rejects(
    f.send(emergency, 'requestBySig', s.args),
    revertsWith('EmergencyAccessInvalidSignature'),
  );

  const late = await signRequest(provider, {
    patient: patient.address,
    reasonHash: reasonHash('late'),
    deadline: (await f.now()) - 1n,
  });
  await assert.rejects(
    f.send(emergency, 'requestBySig', late.args),
    revertsWith('EmergencyAccessExpiredSignature'),
  );

  // Mallory signs in the certified provider's name.
  const mallory = newUser();
  const forged = await signRequest(mallory, {
    provider: provider.address,
    patient: patient.address,
    reasonHash: reasonHash('x'),
  });
  await assert.rejects(
    f.send(emergency, 'requestBySig', forged.args),
    revertsWith('EmergencyAccessInvalidSignature'),
  );

  const stranger = newUser();
  const unknown = await signRequest(provider, { patient: stranger.address, reasonHash: reasonHash('x') });
  await assert.rejects(
    f.send(emergency, 'requestBySig', unknown.args),
    revertsWith('EmergencyAccessPatientNotRegistered'),
  );
  const empty = await signRequest(provider, { patient: patient.address, reasonHash: `0x${'00'.repeat(32)}` });
  await assert.rejects(
    f.send(emergency, 'requestBySig', empty.args),
    revertsWith('EmergencyAccessInvalidReason'),
  );
});
