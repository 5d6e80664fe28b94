/**
 * Break-glass against a real node and chain: the emergency profile opens for a certified provider only after a
 * request on chain naming that provider and patient, through k-of-n key holders; nothing else of the patient's opens;
 * the patient sees the opening in the verified access log.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type EmergencyProfile } from '@medbloc/sdk';
import { cast, newIdentity, startTestNode } from './support/harness.ts';

const profile: EmergencyProfile = {
  bloodType: 'O-',
  allergies: ['penicillin'],
  medications: ['metformin 500 mg'],
  conditions: ['type 2 diabetes'],
  contacts: [{ name: 'Alex', phone: '+1 555 0100', relation: 'spouse' }],
};

describe('emergency access (break-glass)', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  before(async () => {
    t = await startTestNode({ MEDBLOC_AUDIT_INTERVAL_MS: '200' });
    c = await cast(t.node);
  });
  after(() => t.stop());

  test('a certified provider opens the profile after a recorded request; the patient sees it', async () => {
    const rec = await c.patient.addRecord({ resource: { resourceType: 'Observation', status: 'final' } });
    const set = await c.patient.setEmergencyProfile(profile);
    assert.equal(set.threshold, 2);
    assert.equal(set.holders, 3);
    assert.equal((await readdir(path.join(t.home, 'emergency'))).length, 3, 'separate holder keys');
    assert.deepEqual(await c.patient.emergencyProfile(), profile);

    const out = await c.provider.breakGlass(c.patient.address, 'unconscious on arrival, ER bay 3');
    assert.deepEqual(out.profile, profile);
    assert.match(out.requestId, /^0x[0-9a-f]{64}$/);
    // Nothing else opens: the patient's records stay closed to the provider.
    await assert.rejects(c.provider.getRecord(rec.recordId), { code: 'FORBIDDEN' });

    for (let i = 0; i < 50; i++) {
      const log = await c.patient.auditLog();
      if (log.entries.some((e) => e.request.purpose === 3) && log.entries.every((e) => e.anchor)) break;
      await sleep(100);
    }
    const log = await c.patient.auditLog();
    const opened = log.entries.filter((e) => e.request.purpose === 3);
    assert.equal(opened.length, 1);
    assert.equal(opened[0]!.outcome, 'granted');
    assert.equal(opened[0]!.request.requester, c.provider.address);
    assert.equal(opened[0]!.request.record, out.requestId);
    assert.equal((await c.patient.verifyAudit()).ok, true);
  });

  test('no request on chain, another provider’s request, or an uncertified provider: nothing is released', async () => {
    await assert.rejects(c.provider.openEmergency(`0x${'ab'.repeat(32)}`), { code: 'REQUEST_NOT_FOUND' });
    const { requestId } = await c.provider.breakGlass(c.patient.address, 'chest pain');
    const other = createClient({ node: t.node.url, identity: newIdentity() });
    await other.register({ roles: ['provider'] });
    await c.authority.certify(other.address);
    await assert.rejects(other.openEmergency(requestId), { code: 'FORBIDDEN' });
    const rogue = createClient({ node: t.node.url, identity: newIdentity() });
    await rogue.register({ roles: ['provider'] });
    await assert.rejects(rogue.breakGlass(c.patient.address, 'curious'), { code: 'NOT_CERTIFIED' });
    await c.authority.revokeCertification(c.provider.address);
    await assert.rejects(c.provider.openEmergency(requestId), { code: 'NOT_CERTIFIED' });
    const denied = (await c.patient.auditLog()).entries.filter(
      (e) => e.request.purpose === 3 && e.outcome === 'denied',
    );
    assert.equal(denied.length, 2, 'refused openings are logged for the patient');
  });
});
