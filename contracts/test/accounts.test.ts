import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Role, ZERO_HASH } from '@medbloc/core';
import { domainSeparator, keccak256, parseEventLogs, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type Fixture, FUNDED_KEY, HOUR, newUser, revertsWith, setup } from './fixture.ts';

let f: Fixture;
before(async () => {
  f = await setup();
});
after(() => f.stop());

test('the signing domain is "MedBloc" version 1 on this chain and contract', async () => {
  const expected = domainSeparator({ domain: f.accountsDomain });
  assert.equal(await f.read(f.accounts, 'DOMAIN_SEPARATOR'), expected);
});

test('a patient registers on a relayed signature; re-registering updates key and roles', async () => {
  const patient = newUser();
  assert.equal(await f.read(f.accounts, 'isRegistered', [patient.address]), false);
  const s = await f.signRegister(patient, { roles: Role.patient });
  const receipt = await f.send(f.accounts, 'registerBySig', s.args);
  const [event] = parseEventLogs({ abi: f.accounts.abi, logs: receipt.logs, eventName: 'AccountRegistered' });
  assert.deepEqual(event?.args, {
    account: patient.address,
    encryptionKey: s.encryptionKey,
    roles: Role.patient,
  });
  assert.equal(await f.read(f.accounts, 'isRegistered', [patient.address]), true);
  const [key, roles, registeredAt] = await f.read<[string, number, bigint]>(f.accounts, 'accountOf', [
    patient.address,
  ]);
  assert.equal(key, s.encryptionKey);
  assert.equal(roles, Role.patient);
  assert.ok(registeredAt > 0n);
  assert.equal(await f.nonceOf(f.accounts, patient.address), 1n);

  await f.advance(10n);
  const again = await f.signRegister(patient, { roles: Role.patient | Role.researcher });
  await f.send(f.accounts, 'registerBySig', again.args);
  const [key2, roles2, registeredAt2] = await f.read<[string, number, bigint]>(f.accounts, 'accountOf', [
    patient.address,
  ]);
  assert.equal(key2, again.encryptionKey);
  assert.equal(roles2, Role.patient | Role.researcher);
  assert.equal(registeredAt2, registeredAt, 'the first registration time is kept');
  assert.equal(await f.nonceOf(f.accounts, patient.address), 2n);
});

test('registration rejects replayed, expired and forged signatures', async () => {
  const patient = newUser();
  const s = await f.signRegister(patient, { roles: Role.patient });
  await f.send(f.accounts, 'registerBySig', s.args);
  // Replay: the nonce moved on, so the same signature no longer recovers to the account.
  await assert.rejects(
    f.send(f.accounts, 'registerBySig', s.args),
    revertsWith('AccountRegistryInvalidSignature'),
  );

  const late = await f.signRegister(patient, { roles: Role.patient, deadline: (await f.now()) - 1n });
  await assert.rejects(
    f.send(f.accounts, 'registerBySig', late.args),
    revertsWith('AccountRegistryExpiredSignature'),
  );

  // Mallory signs a registration of the patient's account with her own key.
  const mallory = newUser();
  const forged = await f.signRegister(mallory, { account: patient.address, roles: Role.provider });
  await assert.rejects(
    f.send(f.accounts, 'registerBySig', forged.args),
    revertsWith('AccountRegistryInvalidSignature'),
  );
  const [, roles] = await f.read<[string, number, bigint]>(f.accounts, 'accountOf', [patient.address]);
  assert.equal(roles, Role.patient);
});

test('registration rejects a zero encryption key and invalid role bits', async () => {
  const user = newUser();
  const zeroKey = await f.signRegister(user, { roles: Role.patient, encryptionKey: ZERO_HASH });
  await assert.rejects(
    f.send(f.accounts, 'registerBySig', zeroKey.args),
    revertsWith('AccountRegistryInvalidEncryptionKey'),
  );
  for (const roles of [0, 8, 0xff]) {
    const s = await f.signRegister(user, { roles });
    await assert.rejects(
      f.send(f.accounts, 'registerBySig', s.args),
      revertsWith('AccountRegistryInvalidRoles'),
    );
  }
  assert.equal(await f.read(f.accounts, 'isRegistered', [user.address]), false);
});

test('an authority certifies a provider; expiry and revocation end the certification', async () => {
  const authority = await f.addAuthority();
  const provider = newUser();
  await f.register(provider, Role.provider);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), false);

  const expiresAt = (await f.now()) + 2n * HOUR;
  const s = await f.signCertify(authority, { account: provider.address, role: Role.provider, expiresAt });
  const receipt = await f.send(f.accounts, 'certifyBySig', s.args);
  const [event] = parseEventLogs({ abi: f.accounts.abi, logs: receipt.logs, eventName: 'Certified' });
  assert.deepEqual(event?.args, {
    account: provider.address,
    role: Role.provider,
    issuer: authority.address,
    credentialHash: s.credentialHash,
    expiresAt,
  });
  assert.deepEqual(await f.read(f.accounts, 'certificationOf', [provider.address, Role.provider]), [
    authority.address,
    s.credentialHash,
    expiresAt,
    false,
  ]);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), true);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.researcher]), false);
  assert.equal(await f.nonceOf(f.accounts, authority.address), 1n, "the authority's nonce is used");

  await f.advance(2n * HOUR);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), false, 'expired');

  // Re-certified, then revoked.
  await f.certify(authority, provider.address, Role.provider);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), true);
  const revoke = await f.signRevoke(authority, { account: provider.address, role: Role.provider });
  const revoked = await f.send(f.accounts, 'revokeCertificationBySig', revoke.args);
  const [revokedEvent] = parseEventLogs({
    abi: f.accounts.abi,
    logs: revoked.logs,
    eventName: 'CertificationRevoked',
  });
  assert.deepEqual(revokedEvent?.args, {
    account: provider.address,
    role: Role.provider,
    issuer: authority.address,
  });
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), false);
  const [, , , isRevoked] = await f.read<[string, string, bigint, boolean]>(f.accounts, 'certificationOf', [
    provider.address,
    Role.provider,
  ]);
  assert.equal(isRevoked, true);
  // Nothing left to revoke.
  const twice = await f.signRevoke(authority, { account: provider.address, role: Role.provider });
  await assert.rejects(
    f.send(f.accounts, 'revokeCertificationBySig', twice.args),
    revertsWith('AccountRegistryNotCertified'),
  );
});

test('only authorities certify, and only what is certifiable, for registered accounts, into the future', async () => {
  const authority = await f.addAuthority();
  const provider = newUser();
  await f.register(provider, Role.provider);
  const expiresAt = (await f.now()) + HOUR;

  const impostor = newUser();
  const byImpostor = await f.signCertify(impostor, {
    account: provider.address,
    role: Role.provider,
    expiresAt,
  });
  await assert.rejects(
    f.send(f.accounts, 'certifyBySig', byImpostor.args),
    revertsWith('AccountRegistryNotAuthority'),
  );

  // Names a real authority but is signed by someone else.
  const forged = await f.signCertify(impostor, {
    account: provider.address,
    role: Role.provider,
    expiresAt,
    authority: authority.address,
  });
  await assert.rejects(
    f.send(f.accounts, 'certifyBySig', forged.args),
    revertsWith('AccountRegistryInvalidSignature'),
  );

  for (const role of [Role.patient, Role.provider | Role.researcher, 8]) {
    const s = await f.signCertify(authority, { account: provider.address, role, expiresAt });
    await assert.rejects(
      f.send(f.accounts, 'certifyBySig', s.args),
      revertsWith('AccountRegistryInvalidCertifiableRole'),
    );
  }
  const unregistered = await f.signCertify(authority, {
    account: newUser().address,
    role: Role.provider,
    expiresAt,
  });
  await assert.rejects(
    f.send(f.accounts, 'certifyBySig', unregistered.args),
    revertsWith('AccountRegistryNotRegistered'),
  );
  const past = await f.signCertify(authority, {
    account: provider.address,
    role: Role.provider,
    expiresAt: 1n,
  });
  await assert.rejects(
    f.send(f.accounts, 'certifyBySig', past.args),
    revertsWith('AccountRegistryInvalidExpiry'),
  );
  const late = await f.signCertify(authority, {
    account: provider.address,
    role: Role.provider,
    expiresAt,
    deadline: (await f.now()) - 1n,
  });
  await assert.rejects(
    f.send(f.accounts, 'certifyBySig', late.args),
    revertsWith('AccountRegistryExpiredSignature'),
  );

  // A researcher certification is independent of the provider one.
  await f.certify(authority, provider.address, Role.researcher);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.researcher]), true);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), false);
});

test('the admin governs authorities; CERTIFIER_ROLE holders certify and revoke directly', async () => {
  const outsider = privateKeyToAccount(FUNDED_KEY);
  const authorityRole = await f.read<`0x${string}`>(f.accounts, 'AUTHORITY_ROLE');
  const certifierRole = await f.read<`0x${string}`>(f.accounts, 'CERTIFIER_ROLE');
  assert.equal(authorityRole, keccak256(toHex('AUTHORITY_ROLE')));
  await assert.rejects(
    f.send(f.accounts, 'grantRole', [authorityRole, outsider.address], outsider),
    revertsWith('AccessControlUnauthorizedAccount'),
  );

  const provider = newUser();
  await f.register(provider, Role.provider);
  const expiresAt = (await f.now()) + HOUR;
  const credential = `0x${'ab'.repeat(32)}` as const;
  // Not yet a certifier (stands in for a future peer-review contract).
  await assert.rejects(
    f.send(f.accounts, 'certify', [provider.address, Role.provider, credential, expiresAt], outsider),
    revertsWith('AccessControlUnauthorizedAccount'),
  );
  await f.send(f.accounts, 'grantRole', [certifierRole, outsider.address]);
  await f.send(f.accounts, 'certify', [provider.address, Role.provider, credential, expiresAt], outsider);
  assert.deepEqual(await f.read(f.accounts, 'certificationOf', [provider.address, Role.provider]), [
    outsider.address,
    credential,
    expiresAt,
    false,
  ]);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), true);
  await f.send(f.accounts, 'revokeCertification', [provider.address, Role.provider], outsider);
  assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), false);
});
