/**
 * Consent signatures at the node: a replayed, an expired and a forged grant are refused with specific problems
 * (the contract refuses them too: contracts/test/consent.test.ts), and none of them grants anything.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { consentRegistryAbi } from '@medbloc/contracts';
import { domainFor, grantConsentTypes } from '@medbloc/core';
import { createPublicClient, type Hex, http } from 'viem';
import { cast, startTestNode } from './support/harness.ts';

let t: Awaited<ReturnType<typeof startTestNode>>;
let c: Awaited<ReturnType<typeof cast>>;
before(async () => {
  t = await startTestNode();
  c = await cast(t.node);
});
after(() => t.stop());

test('replayed, expired and forged grant signatures are refused by the node and grant nothing', async () => {
  const rec = await c.patient.addRecord({
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
  });
  const info = await c.patient.nodeInfo();
  const consent = info.contracts as unknown as { consentRegistry: Hex };
  const chain = createPublicClient({ transport: http(t.node.rpcUrl) });
  const grant = {
    owner: c.patient.address,
    grantee: c.provider.address,
    scope: rec.recordId,
    purpose: 1,
    expiresAt: 0n,
  };
  const isGranted = () =>
    chain.readContract({
      address: consent.consentRegistry,
      abi: consentRegistryAbi,
      functionName: 'isGranted',
      args: [grant.owner, grant.grantee, grant.scope, grant.purpose],
    });
  const nonceNow = () =>
    chain.readContract({
      address: consent.consentRegistry,
      abi: consentRegistryAbi,
      functionName: 'grantNonce',
      args: [grant.owner, grant.grantee, grant.scope, grant.purpose],
    });
  const token = await c.patient.login();
  const submit = async (signer: typeof c.ids.patient, nonce: bigint, deadline: bigint) => {
    const message = { ...grant, nonce, deadline };
    const signature = await signer.account.signTypedData({
      domain: domainFor(info.chainId, consent.consentRegistry),
      types: grantConsentTypes,
      primaryType: 'GrantConsent',
      message,
    });
    const body = JSON.stringify({
      ...message,
      nonce: String(nonce),
      deadline: String(deadline),
      expiresAt: '0',
      signer: c.patient.address,
      signature,
      envelope: 'hpke1.AAAA',
    });
    const post = () =>
      fetch(`${t.node.url}/v1/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
    return { post };
  };
  const later = BigInt(Math.floor(Date.now() / 1000) + 600);

  const expired = await submit(c.ids.patient, await nonceNow(), BigInt(Math.floor(Date.now() / 1000) - 5));
  assert.equal(((await (await expired.post()).json()) as { code: string }).code, 'SIGNATURE_EXPIRED');

  const forged = await submit(c.ids.provider, await nonceNow(), later);
  const forgedRes = await forged.post();
  assert.equal(forgedRes.status, 400);
  assert.equal(((await forgedRes.json()) as { code: string }).code, 'INVALID_SIGNATURE');
  assert.equal(await isGranted(), false);

  const real = await submit(c.ids.patient, await nonceNow(), later);
  assert.equal((await real.post()).status, 201);
  assert.equal(await isGranted(), true);
  const replayed = await real.post();
  assert.equal(((await replayed.json()) as { code: string }).code, 'SIGNATURE_REPLAYED');
});
