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

  test('reads are signed by a session access key the account delegated to at sign-in; forged ones are refused', async () => {
    const rec = await c.patient.addRecord({ resource: observation });
    await c.patient.grant({ grantee: c.provider.address, record: rec.recordId });
    await c.provider.getRecord(rec.recordId);
    await c.patient.getRecord(rec.recordId);
    const entries = (await c.patient.auditLog()).entries.filter((e) => e.request.record === rec.recordId);
    const mine = entries.find((e) => e.request.requester === c.patient.address)!;
    const theirs = entries.find((e) => e.request.requester === c.provider.address)!;
    for (const e of [mine, theirs]) {
      assert.equal(e.requestSignature?.length, 2 + 128, 'a 64-byte Ed25519 signature');
      assert.ok(e.requestKey, 'the delegation travels with the entry');
      assert.match(e.requestKey.message, new RegExp(`^[^\\n]+\\n${e.request.requester}\\n`));
      assert.ok(e.requestKey.message.includes(`urn:medbloc:access-key:ed25519:${e.requestKey.key.slice(2)}`));
    }
    assert.notEqual(mine.requestKey!.key, theirs.requestKey!.key);
    // The node countersigns with its Ed25519 receipt key, delegated to by its operator account.
    assert.equal(theirs.nodeSignature.length, 2 + 128);
    assert.ok(theirs.nodeKey?.message.includes(`Node: ${t.node.operator}`));

    const token = await c.provider.login();
    const read = (access: Record<string, unknown>) =>
      fetch(`${t.node.url}/v1/records/${rec.recordId}/open`, {
        headers: {
          authorization: `Bearer ${token}`,
          'x-medbloc-access': Buffer.from(JSON.stringify(access)).toString('base64url'),
        },
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { code: string; detail: string },
      }));
    const request = {
      requester: c.provider.address,
      owner: c.patient.address,
      record: rec.recordId,
      purpose: 1,
      time: Math.floor(Date.now() / 1000),
    };
    // The patient's key was delegated by the patient, not by the provider.
    let r = await read({ ...request, key: mine.requestKey!.key, signature: theirs.requestSignature });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'RECEIPT_INVALID');
    assert.match(r.body.detail, /not delegated to by you/);
    // The provider's own key, but a signature it did not make.
    r = await read({ ...request, key: theirs.requestKey!.key, signature: `0x${'11'.repeat(64)}` });
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /not signed by your access key/);
    // A replayed signature over another request.
    r = await read({
      ...request,
      time: theirs.request.time + 1,
      key: theirs.requestKey!.key,
      signature: theirs.requestSignature,
    });
    assert.equal(r.status, 400);
    // Every entry since (the reads and the three refusals) verifies; only the entry deleted above is reported.
    const first = Math.min(mine.seq, theirs.seq);
    const clean = await c.patient.verifyAudit();
    assert.deepEqual(
      clean.problems.filter((p) => (p.seq ?? 0) >= first),
      [],
    );
    assert.equal((await c.patient.auditLog()).entries.filter((e) => e.seq >= first).length, 5);

    // A node that swaps an entry's delegation for another session's is caught by the audit.
    const db = new DatabaseSync(path.join(t.home, 'index.sqlite'));
    const original = db
      .prepare('SELECT message, signature FROM access_keys WHERE key = ?')
      .get(theirs.requestKey!.key) as {
      message: string;
      signature: string;
    };
    db.prepare('UPDATE access_keys SET message = ?, signature = ? WHERE key = ?').run(
      mine.requestKey!.message,
      mine.requestKey!.signature,
      theirs.requestKey!.key,
    );
    const v = await createClient({ node: t.node.url, identity: c.ids.patient }).verifyAudit();
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.seq === theirs.seq && /not delegated/.test(p.problem)));
    db.prepare('UPDATE access_keys SET message = ?, signature = ? WHERE key = ?').run(
      original.message,
      original.signature,
      theirs.requestKey!.key,
    );
    // Likewise a receipt key whose delegation is not the node operator's.
    const nodeKey = theirs.nodeKey!.key;
    const delegation = db.prepare('SELECT message FROM node_keys WHERE key = ?').get(nodeKey) as {
      message: string;
    };
    db.prepare('UPDATE node_keys SET message = ? WHERE key = ?').run(
      delegation.message.replace(/Node: 0x[0-9a-fA-F]{40}/, `Node: ${c.provider.address}`),
      nodeKey,
    );
    const w = await createClient({ node: t.node.url, identity: c.ids.patient }).verifyAudit();
    assert.ok(w.problems.some((p) => p.seq === theirs.seq && /receipt key/.test(p.problem)));
    db.prepare('UPDATE node_keys SET message = ? WHERE key = ?').run(delegation.message, nodeKey);
    db.close();
  });

  test('sign-in refuses a malformed access-key resource', async () => {
    const { nonce } = (await (await fetch(`${t.node.url}/v1/auth/nonce`, { method: 'POST' })).json()) as {
      nonce: string;
    };
    const { createSiweMessage } = await import('viem/siwe');
    const health = (await (await fetch(`${t.node.url}/health`)).json()) as { chainId: number };
    const message = createSiweMessage({
      address: c.ids.provider.address,
      chainId: health.chainId,
      domain: new URL(t.node.url).host,
      nonce,
      uri: t.node.url,
      version: '1',
      resources: ['urn:medbloc:access-key:ed25519:not-a-key'],
    });
    const signature = await c.ids.provider.account.signMessage({ message });
    const res = await fetch(`${t.node.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message, signature }),
    });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { detail: string }).detail, /32-byte Ed25519 key/);
  });
});
