/**
 * Access audit against a real node and chain: every served and every refused read of a patient's records appears in
 * that patient's log, signed by the requester and the node, and included under a root anchored on AccessLog; an entry
 * removed or altered in the node's database is detected.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEntry, MedblocClient } from '@medbloc/sdk';
import { createClient } from '@medbloc/sdk';
import { cast, startTestNode } from './support/harness.ts';

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  valueQuantity: { value: 72, unit: 'beats/minute' },
};

async function anchored(client: MedblocClient, n: number): Promise<AuditEntry[]> {
  for (let i = 0; i < 100; i++) {
    const log = await client.auditLog();
    if (log.entries.length >= n && log.entries.every((e) => e.anchor)) return log.entries;
    await sleep(100);
  }
  throw new Error('the access log was not anchored in time');
}

describe('access audit', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  before(async () => {
    t = await startTestNode({ MEDBLOC_AUDIT_INTERVAL_MS: '200' });
    c = await cast(t.node);
  });
  after(() => t.stop());

  test('every read and every refusal is in the owner log, signed, anchored and verifiable', async () => {
    const shared = await c.patient.addRecord({ resource: observation });
    const secret = await c.patient.addRecord({ resource: { ...observation, id: 'private' } });
    await c.patient.grant({ grantee: c.provider.address, record: shared.recordId });
    await c.provider.getRecord(shared.recordId);
    await assert.rejects(c.provider.getRecord(secret.recordId), { code: 'FORBIDDEN' });
    // A read without a signed access request is refused, and logged by the node alone.
    const token = await c.provider.login();
    const res = await fetch(`${t.node.url}/v1/records/${secret.recordId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 401);
    await c.provider.listRecords({ owner: c.patient.address });

    const entries = await anchored(c.patient, 4);
    const by = (record: string, outcome: string) =>
      entries.filter(
        (e) =>
          e.request.requester === c.provider.address && e.request.record === record && e.outcome === outcome,
      );
    assert.equal(by(shared.recordId, 'granted').length, 1, 'one entry per read (detail and content)');
    assert.equal(by(secret.recordId, 'denied').length, 2);
    assert.ok(by(secret.recordId, 'denied').some((e) => e.requestSignature === null));
    assert.equal(by(`0x${'00'.repeat(32)}`, 'granted').length, 1, 'the listing');
    for (const e of entries) assert.equal(e.node, t.node.operator);
    assert.deepEqual(
      entries.map((e) => e.seq),
      entries.map((_, i) => i + 1),
    );
    const v = await c.patient.verifyAudit();
    assert.deepEqual(v.problems, []);
    assert.equal(v.ok, true);
    assert.equal(v.verified, entries.length);
    // Another account cannot read the patient's log.
    await assert.rejects(
      fetch(`${t.node.url}/v1/audit?owner=${c.patient.address}`, {
        headers: { authorization: `Bearer ${token}` },
      }).then(async (r) => {
        if (!r.ok)
          throw Object.assign(new Error('refused'), { code: ((await r.json()) as { code: string }).code });
      }),
      { code: 'FORBIDDEN' },
    );
  });

  test('an entry removed from, or altered in, the node database is detected', async () => {
    const before = (await c.patient.auditLog()).entries;
    assert.ok(before.length >= 3);
    const db = new DatabaseSync(path.join(t.home, 'index.sqlite'));
    const owner = c.patient.address.toLowerCase();
    db.prepare('UPDATE receipts SET outcome = 1 WHERE owner = ? AND seq = ?').run(owner, 2);
    let v = await c.patient.verifyAudit();
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.seq === 2));
    db.prepare('UPDATE receipts SET outcome = ? WHERE owner = ? AND seq = ?').run(
      before[1]!.outcome === 'granted' ? 1 : 2,
      owner,
      2,
    );
    assert.equal((await c.patient.verifyAudit()).ok, true);
    db.prepare('DELETE FROM receipts WHERE owner = ? AND seq = ?').run(owner, 3);
    db.close();
    v = await c.patient.verifyAudit();
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.seq === 3 && p.problem === 'entry missing from the log'));
  });

  test("an owner may read its own records unlogged (logOwnReads: false); others' reads are always logged", async () => {
    const rec = await c.patient.addRecord({ resource: observation });
    const before = (await c.patient.auditLog()).entries.length;
    const quiet = createClient({ node: t.node.url, identity: c.ids.patient, logOwnReads: false });
    await quiet.listRecords();
    await quiet.getRecord(rec.recordId);
    assert.equal((await c.patient.auditLog()).entries.length, before, 'no entry for the unlogged own read');
    await c.patient.getRecord(rec.recordId);
    assert.equal((await c.patient.auditLog()).entries.length, before + 1, 'a logged own read adds one entry');
  });
});
