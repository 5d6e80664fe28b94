/**
 * Patient control through the SDK against a real node and chain: a grantee reads exactly what a live grant covers,
 * for the purpose it was granted and only while certified for it; a revoked party reads nothing written afterwards
 * (the node refuses it, and the key it would need was never wrapped for it); a lapsed grant reads nothing; a list
 * never shows records the caller may not read, nor how many there are.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { decodeEnvelope, hpkeUnwrap } from '@medbloc/core';
import { createClient, type MedblocClient } from '@medbloc/sdk';
import { hexToBytes } from 'viem';
import { cast, newIdentity, startTestNode } from './support/harness.ts';
import { lab } from './support/resources.ts';

const note = {
  resourceType: 'DocumentReference',
  status: 'current',
  content: [{ attachment: { contentType: 'text/plain', data: 'UGF0aWVudCBpcyB3ZWxsLg==' } }],
};
const medication = {
  resourceType: 'MedicationStatement',
  status: 'active',
  medicationCodeableConcept: { text: 'metformin 500 mg' },
  subject: { reference: 'Patient/p' },
};

describe('consent: grants, enforcement and keys that follow them', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  let doctor2: MedblocClient;
  let researcher: MedblocClient;
  let dual: MedblocClient;
  let uncertified: MedblocClient;
  const ids = {
    doctor2: newIdentity(),
    researcher: newIdentity(),
    dual: newIdentity(),
    uncertified: newIdentity(),
  };
  const db = () => new DatabaseSync(path.join(t.home, 'index.sqlite'));
  const listedIds = async (who: MedblocClient, purpose: 'care' | 'research' = 'care') =>
    (await who.listRecords({ owner: c.patient.address, purpose })).map((r) => r.recordId).sort();

  before(async () => {
    t = await startTestNode({ MEDBLOC_AUDIT_INTERVAL_MS: '300' });
    c = await cast(t.node);
    doctor2 = createClient({ node: t.node.url, identity: ids.doctor2 });
    researcher = createClient({ node: t.node.url, identity: ids.researcher });
    dual = createClient({ node: t.node.url, identity: ids.dual });
    uncertified = createClient({ node: t.node.url, identity: ids.uncertified });
    await doctor2.register({ roles: ['provider'] });
    await researcher.register({ roles: ['researcher'] });
    await dual.register({ roles: ['provider', 'researcher'] });
    await uncertified.register({ roles: ['provider'] });
    await c.authority.certify(doctor2.address, { role: 'provider' });
    await c.authority.certify(researcher.address, { role: 'researcher' });
    await c.authority.certify(dual.address, { role: 'provider' });
    await c.authority.certify(dual.address, { role: 'researcher' });
  });
  after(() => t.stop());

  test('a record grant lets the grantee read that record and nothing else', async () => {
    const a = await c.patient.addRecord({ resource: lab(90) });
    const b = await c.patient.addRecord({ resource: lab(91) });
    await assert.rejects(c.provider.getRecord(a.recordId), { code: 'FORBIDDEN' });
    await c.patient.grant({ grantee: c.provider.address, record: a.recordId });
    const got = await c.provider.getRecord(a.recordId);
    assert.deepEqual(got.resource, lab(90));
    assert.ok(got.verification.checks.includes('anchor (on chain)'));
    await assert.rejects(c.provider.getRecord(b.recordId), { code: 'FORBIDDEN' });
    assert.deepEqual(await listedIds(c.provider), [a.recordId]);
    const grants = await c.provider.grants({ as: 'grantee' });
    assert.ok(grants.some((g) => g.scope === a.recordId && g.live && g.kind === 'record'));
    // Revoking the record grant: refused at once, and the wrapped key is gone from the node.
    await c.patient.revoke({ grantee: c.provider.address, record: a.recordId });
    await assert.rejects(c.provider.getRecord(a.recordId), { code: 'FORBIDDEN' });
    const d = db();
    const row = d
      .prepare('SELECT 1 FROM envelopes WHERE record_id = ? AND reader = ?')
      .get(a.recordId, c.provider.address.toLowerCase());
    d.close();
    assert.equal(row, undefined);
  });

  test('a category grant covers that category, past and future records, by any writer — nothing else', async () => {
    const before1 = await c.patient.addRecord({ resource: lab(100) });
    const other = await c.patient.addRecord({ resource: note });
    await c.patient.grant({ grantee: c.provider.address, category: 'labs' });
    const later = await doctor2.addRecord({ resource: lab(101), owner: c.patient.address });
    const batch = await doctor2.addRecords(
      [{ resource: lab(102) }, { resource: medication }, { resource: lab(103) }],
      {
        owner: c.patient.address,
      },
    );
    for (const [id, value] of [
      [before1.recordId, 100],
      [later.recordId, 101],
      [batch.recordIds[0]!, 102],
      [batch.recordIds[2]!, 103],
    ] as const) {
      const got = await c.provider.getRecord(id);
      assert.equal((got.resource as ReturnType<typeof lab>).valueQuantity.value, value);
    }
    await assert.rejects(c.provider.getRecord(other.recordId), { code: 'FORBIDDEN' });
    await assert.rejects(c.provider.getRecord(batch.recordIds[1]!), { code: 'FORBIDDEN' });
    // Exactly the patient's labs: those written before the grant (filed under the scope when it was first
    // published) and after it, by the patient or by other providers.
    const labs = (await c.patient.listRecords()).filter((r) => r.meta?.category === 'labs');
    assert.ok(labs.length >= 6);
    for (const id of [before1.recordId, later.recordId, batch.recordIds[0]!, batch.recordIds[2]!])
      assert.ok(labs.some((r) => r.recordId === id));
    assert.deepEqual(await listedIds(c.provider), labs.map((r) => r.recordId).sort());
    // The patient's categories are opaque on chain: the grant's scope is an unlinkable id.
    const mine = await c.patient.grants();
    const g = mine.find((x) => x.grantee === c.provider.address && x.kind === 'category');
    assert.equal(g?.category, 'labs');
    assert.match(g!.scope, /^0x[0-9a-f]{64}$/);
  });

  test('a writer files records only under scope keys the patient signed: a key the node slips in is ignored', async () => {
    // Follows the category grant above: the patient has published a signed scope key per category.
    let tamper = false;
    let sent: { records: { scopes?: { scopeId: string }[] }[]; scopeKeys: unknown[] } | undefined;
    const forged = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`;
    const sneaky: typeof fetch = async (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (init?.method === 'POST' && url.pathname === '/v1/records/batch')
        sent = JSON.parse(String(init.body));
      const res = await fetch(input, init);
      if (!tamper || url.pathname !== `/v1/scopes/${c.patient.address}`) return res;
      const body = (await res.json()) as { scopes: { category: string; publicKey: string }[] };
      for (const k of body.scopes) if (k.category === 'labs') k.publicKey = forged;
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    };
    const writer = createClient({ node: t.node.url, identity: ids.doctor2, fetch: sneaky });
    const write = async (value: number) => {
      const out = await writer.addRecords([{ resource: lab(value) }], { owner: c.patient.address });
      return { id: out.recordIds[0]!, scopes: sent?.records[0]?.scopes, scopeKeys: sent?.scopeKeys ?? [] };
    };
    const honest = await write(110);
    assert.equal(honest.scopes?.length, 1, 'filed under the labs scope');
    assert.equal(honest.scopeKeys.length, 1);
    assert.equal((await c.provider.getRecord(honest.id)).verification.recordId, honest.id);
    // The same writer, the signature it already checked, a different key: not trusted, so not used.
    tamper = true;
    const slipped = await write(111);
    assert.equal(slipped.scopes, undefined, 'no scope envelope for a key the patient did not sign');
    assert.deepEqual(slipped.scopeKeys, []);
    await assert.rejects(c.provider.getRecord(slipped.id), { code: 'FORBIDDEN' });
    assert.ok((await c.patient.getRecord(slipped.id)).resource, 'the patient still reads it');
    tamper = false;
    const again = await write(112);
    assert.equal(again.scopes?.[0]?.scopeId, honest.scopes?.[0]?.scopeId);
  });

  test('revoking a category: the revoked party reads nothing written afterwards; others keep reading', async () => {
    await c.patient.grant({ grantee: doctor2.address, category: 'labs' });
    const old = await c.patient.addRecord({ resource: lab(110) });
    assert.equal(
      ((await c.provider.getRecord(old.recordId)).resource as ReturnType<typeof lab>).valueQuantity.value,
      110,
    );
    // What the provider held before the revocation: the epoch-0 scope key, wrapped for it.
    let d = db();
    const held = d
      .prepare('SELECT scope_id, envelope FROM scope_grant_keys WHERE grantee = ?')
      .get(c.provider.address.toLowerCase()) as { scope_id: `0x${string}`; envelope: string };
    d.close();
    assert.ok(held);

    const out = await c.patient.revoke({ grantee: c.provider.address, category: 'labs' });
    assert.equal(out.epoch, 1);
    assert.equal(out.regranted, 1);
    const after1 = await doctor2.addRecord({ resource: lab(111), owner: c.patient.address });
    const afterBatch = await c.patient.addRecords([{ resource: lab(112) }]);

    for (const id of [old.recordId, after1.recordId, afterBatch.recordIds[0]!])
      await assert.rejects(c.provider.getRecord(id), { code: 'FORBIDDEN' });
    await assert.rejects(listedIds(c.provider), { code: 'FORBIDDEN' });
    // The remaining grantee reads old and new alike.
    for (const id of [old.recordId, after1.recordId, afterBatch.recordIds[0]!]) await doctor2.getRecord(id);

    // Key level: the new record is wrapped to a new scope key the revoked provider never received; the key it
    // did hold opens nothing written after the revocation.
    d = db();
    const scopes = d
      .prepare('SELECT scope_id FROM record_scopes WHERE record_id = ?')
      .all(after1.recordId) as { scope_id: string }[];
    const env = d
      .prepare('SELECT envelope FROM envelopes WHERE record_id = ? AND reader = ?')
      .get(after1.recordId, `scope:${scopes[0]!.scope_id}`) as { envelope: string };
    const leaked = d
      .prepare('SELECT COUNT(*) AS n FROM scope_grant_keys WHERE grantee = ? AND scope_id = ?')
      .get(c.provider.address.toLowerCase(), scopes[0]!.scope_id) as { n: number };
    d.close();
    assert.notEqual(scopes[0]!.scope_id, held.scope_id);
    assert.equal(leaked.n, 0);
    const oldScopeKey = await hpkeUnwrap(
      c.ids.provider.encryption.privateKey,
      decodeEnvelope(held.envelope).data,
      hexToBytes(held.scope_id),
    );
    await assert.rejects(
      hpkeUnwrap(oldScopeKey, decodeEnvelope(env.envelope).data, hexToBytes(after1.recordId)),
      { code: 'ENVELOPE_OPEN_FAILED' },
    );
  });

  test('purposes are separate: a researcher cannot use a care grant, nor a provider a research grant', async () => {
    const rec = await c.patient.addRecord({ resource: lab(120) });
    await c.patient.grant({ grantee: researcher.address, record: rec.recordId, purpose: 'research' });
    await c.patient.grant({ grantee: dual.address, record: rec.recordId, purpose: 'care' });
    await researcher.getRecord(rec.recordId, { purpose: 'research' });
    // Care needs a certified provider; the researcher is not one.
    await assert.rejects(researcher.getRecord(rec.recordId, { purpose: 'care' }), { code: 'NOT_CERTIFIED' });
    // Certified for both, granted care only: research reads are refused.
    await dual.getRecord(rec.recordId, { purpose: 'care' });
    await assert.rejects(dual.getRecord(rec.recordId, { purpose: 'research' }), { code: 'FORBIDDEN' });
    await assert.rejects(listedIds(dual, 'research'), { code: 'FORBIDDEN' });
    assert.deepEqual(await listedIds(researcher, 'research'), [rec.recordId]);
    // A research grant needs a certified researcher (the chain refuses it otherwise).
    await assert.rejects(
      c.patient.grant({ grantee: c.provider.address, record: rec.recordId, purpose: 'research' }),
      { code: 'NOT_CERTIFIED' },
    );
  });

  test('an uncertified account reads nothing, even with a grant; losing certification stops reads', async () => {
    const rec = await c.patient.addRecord({ resource: lab(130) });
    await c.patient.grant({ grantee: uncertified.address, record: rec.recordId });
    await assert.rejects(uncertified.getRecord(rec.recordId), { code: 'NOT_CERTIFIED' });
    await assert.rejects(listedIds(uncertified), { code: 'FORBIDDEN' });
    await c.authority.certify(uncertified.address, { role: 'provider' });
    await uncertified.getRecord(rec.recordId);
    await c.authority.revokeCertification(uncertified.address);
    await assert.rejects(uncertified.getRecord(rec.recordId), { code: 'NOT_CERTIFIED' });
  });

  test('a list shows only what the caller may read, and no count of the rest', async () => {
    const token = await doctor2.login();
    const res = await fetch(`${t.node.url}/v1/records?owner=${c.patient.address}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 401, 'a listing of another needs a signed access request');
    const listed = await doctor2.listRecords({ owner: c.patient.address });
    const all = await c.patient.listRecords();
    assert.ok(listed.length > 0 && listed.length < all.length);
    for (const r of listed) assert.notEqual(r.meta, undefined, 'every listed record opens');
    const stranger = createClient({ node: t.node.url, identity: newIdentity() });
    await stranger.register({ roles: ['provider'] });
    await c.authority.certify(stranger.address);
    await assert.rejects(stranger.listRecords({ owner: c.patient.address }), { code: 'FORBIDDEN' });
  });

  test('a grant lapses at its expiry (chain time)', async () => {
    const rec = await c.patient.addRecord({ resource: note });
    const rpc = async (method: string, params: unknown[] = []) => {
      const r = await fetch(t.node.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      return ((await r.json()) as { result: unknown }).result;
    };
    const block = (await rpc('eth_getBlockByNumber', ['latest', false])) as { timestamp: string };
    const now = Number(BigInt(block.timestamp));
    await c.patient.grant({ grantee: doctor2.address, record: rec.recordId, expiresAt: now + 60 });
    await doctor2.getRecord(rec.recordId);
    await rpc('evm_increaseTime', [120]);
    await rpc('evm_mine');
    await assert.rejects(doctor2.getRecord(rec.recordId), { code: 'FORBIDDEN' });
    const mine = await c.patient.grants();
    assert.equal(mine.find((g) => g.scope === rec.recordId && g.grantee === doctor2.address)?.live, false);
  });
});
