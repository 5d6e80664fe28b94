/**
 * Delegation against a real node and chain: a patient appoints a carer with its EIP-712 signature (relayed by the
 * node, indexed); the carer adds records for the patient and shares the patient's categories, every action signed by
 * and attributed to the carer; the patient revokes the carer, who can then do nothing more. A guardian opens the
 * child's records — written before the appointment and after — with the keyring the child wrapped for it, each read
 * in the child's access log.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import {
  type Category,
  createClient,
  type DelegateView,
  type GrantView,
  type MedblocClient,
} from '@medbloc/sdk';
import type { Hex } from 'viem';
import { scopeIdOf, scopeSecretOf } from '../packages/sdk/src/scopes.ts';
import { cast, cliUser, newIdentity, startTestNode, tempDir } from './support/harness.ts';
import { lab } from './support/resources.ts';

/** The `medbloc` CLI with its own keys directory, as one person at a terminal; `ok` gives the output of a success. */
async function cliAt(node: string) {
  const keys = await tempDir('medbloc-keys-');
  const user = cliUser(() => ({
    MEDBLOC_NODE: node,
    MEDBLOC_KEYS_DIR: keys,
    MEDBLOC_PASSPHRASE: 'a long passphrase',
  }));
  return { ...user, ok: async (args: string[]) => (await user.ok(args)).stdout };
}

const note = {
  resourceType: 'DocumentReference',
  status: 'current',
  content: [{ attachment: { contentType: 'text/plain', data: 'U2xlZXBzIHdlbGwu' } }],
};

describe('delegation: a carer acts for the patient until revoked', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  let carer: MedblocClient;
  let stranger: MedblocClient;
  let earlier: string;

  before(async () => {
    t = await startTestNode({ MEDBLOC_AUDIT_INTERVAL_MS: '300' });
    c = await cast(t.node);
    carer = createClient({ node: t.node.url, identity: newIdentity() });
    stranger = createClient({ node: t.node.url, identity: newIdentity() });
    await carer.register({ roles: ['patient'] });
    await stranger.register({ roles: ['patient'] });
    earlier = (await c.patient.addRecord({ resource: lab(101) })).recordId;
  });
  after(() => t.stop());

  test('the patient appoints a carer; both see the appointment', async () => {
    await assert.rejects(
      carer.grant({ owner: c.patient.address, grantee: c.provider.address, category: 'labs' }),
      {
        code: 'FORBIDDEN',
      },
    );
    const out = await c.patient.appointDelegate({ delegate: carer.address, kind: 'carer' });
    assert.match(out.txHash, /^0x[0-9a-f]{64}$/);
    const mine = await c.patient.delegates();
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.delegate, carer.address);
    assert.equal(mine[0]!.kind, 'carer');
    assert.equal(mine[0]!.live, true);
    const theirs = await carer.delegates({ as: 'delegate' });
    assert.deepEqual(
      theirs.map((d) => d.patient),
      [c.patient.address],
    );
    // Only the patient and its delegates may list them.
    await assert.rejects(stranger.delegates({ patient: c.patient.address }), { code: 'FORBIDDEN' });
  });

  test('the carer adds a record for the patient; the anchor names the carer as creator', async () => {
    const rec = await carer.addRecord({ owner: c.patient.address, resource: lab(120) });
    assert.equal(rec.creator, carer.address);
    const got = await c.patient.getRecord(rec.recordId);
    assert.deepEqual(got.resource, lab(120));
    assert.equal(got.verification.creator, carer.address);
    assert.ok(got.verification.checks.includes('creator signature'));
    const listed = await c.patient.listRecords();
    assert.equal(listed.find((r) => r.recordId === rec.recordId)?.creator, carer.address);
    // A batch too: one transaction, each record verified with its Merkle proof against the chain.
    const batch = await carer.addRecords([{ resource: lab(121) }, { resource: lab(122) }], {
      owner: c.patient.address,
    });
    for (const id of batch.recordIds) {
      const v = await c.patient.verifyRecord(id);
      assert.equal(v.creator, carer.address);
      assert.ok(v.checks.includes('merkle inclusion (on chain)'));
    }
    // A stranger still cannot.
    await assert.rejects(stranger.addRecord({ owner: c.patient.address, resource: lab(1) }), {
      code: 'NOT_CERTIFIED',
    });
  });

  test('the carer shares the patient’s labs with a provider; the grant is attributed to the carer', async () => {
    await carer.grant({ owner: c.patient.address, grantee: c.provider.address, category: 'labs' });
    const grants = await c.patient.grants();
    const g = grants.find((x) => x.grantee === c.provider.address && x.category === 'labs');
    assert.ok(g?.live);
    assert.equal(g.signer, carer.address);
    // The provider reads the lab the patient wrote before the appointment, and the one the carer wrote.
    assert.deepEqual((await c.provider.getRecord(earlier as `0x${string}`)).resource, lab(101));
    const viaCarer = await carer.addRecord({ owner: c.patient.address, resource: lab(130) });
    assert.deepEqual((await c.provider.getRecord(viaCarer.recordId)).resource, lab(130));
  });

  test('the carer revokes the provider: nothing written afterwards is readable', async () => {
    const out = await carer.revoke({
      owner: c.patient.address,
      grantee: c.provider.address,
      category: 'labs',
    });
    assert.equal(out.epoch, 1);
    const revoked = (await c.patient.grants()).filter((g) => g.grantee === c.provider.address && g.revoked);
    assert.ok(revoked.length > 0 && revoked.every((g) => g.signer === carer.address));
    const later = await c.patient.addRecord({ resource: lab(140) });
    await assert.rejects(c.provider.getRecord(later.recordId), { code: 'FORBIDDEN' });
  });

  test('the patient revokes the carer, who can do nothing more', async () => {
    const nurse = createClient({ node: t.node.url, identity: newIdentity() });
    await nurse.register();
    await c.patient.appointDelegate({ delegate: nurse.address, kind: 'carer' });
    await c.patient.revokeDelegate({ delegate: carer.address });
    const d = (await c.patient.delegates()).find((x) => x.delegate === carer.address);
    assert.equal(d?.live, false);
    assert.equal(d?.revoked, true);
    assert.equal(d?.revokedBy, c.patient.address);
    assert.deepEqual(await carer.delegates({ as: 'delegate' }).then((x) => x.filter((y) => y.live)), []);
    await assert.rejects(carer.addRecord({ owner: c.patient.address, resource: lab(150) }), {
      code: 'NOT_CERTIFIED',
    });
    await assert.rejects(
      carer.grant({ owner: c.patient.address, grantee: c.provider.address, category: 'labs' }),
      { code: 'FORBIDDEN' },
    );
    await assert.rejects(carer.grants({ owner: c.patient.address }), { code: 'FORBIDDEN' });
    // The labs key the carer published when it revoked the provider is now countersigned by the patient, so what
    // the patient writes later still reaches a new grantee of its labs.
    await c.patient.grant({ grantee: c.provider.address, category: 'labs' });
    const fresh = await c.patient.addRecord({ resource: lab(160) });
    assert.deepEqual((await c.provider.getRecord(fresh.recordId)).resource, lab(160));
    const { scopes } = (await fetch(`${t.node.url}/v1/scopes/${c.patient.address}`, {
      headers: { authorization: `Bearer ${await c.patient.login()}` },
    }).then((r) => r.json())) as {
      scopes: { category: Category; epoch: number; scopeId: Hex; signer: string }[];
    };
    const labs = scopes.filter((k) => k.category === 'labs').sort((a, b) => a.epoch - b.epoch);
    assert.ok(labs.every((k) => k.signer === c.patient.address));
    // Every category moved to a key the revoked carer cannot derive from the secret it was given.
    const known = scopeSecretOf(c.ids.patient);
    const latest = labs.at(-1)!;
    assert.notEqual(scopeIdOf(known, 'labs', latest.epoch), latest.scopeId);
    assert.equal(scopeIdOf(scopeSecretOf(c.ids.patient, 1), 'labs', latest.epoch), latest.scopeId);
    // The remaining carer got the new keys: it shares the patient's notes, written after the rotation.
    const doc = await c.patient.addRecord({ resource: note });
    await nurse.grant({ owner: c.patient.address, grantee: c.provider.address, category: 'notes' });
    assert.deepEqual((await c.provider.getRecord(doc.recordId)).resource, note);
    // Its key material is gone from the node, and it cannot revoke again.
    await assert.rejects(carer.revokeDelegate({ delegate: carer.address, patient: c.patient.address }), {
      code: 'FORBIDDEN',
    });
  });

  test('an appointment replayed, or submitted by anyone but the patient, is refused', async () => {
    const sent: { url: string; body: string }[] = [];
    const recording: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && typeof init.body === 'string')
        sent.push({ url: String(input), body: init.body });
      return fetch(input, init);
    };
    const minor = createClient({ node: t.node.url, identity: newIdentity(), fetch: recording });
    await minor.register({ roles: ['patient'] });
    await minor.appointDelegate({ delegate: carer.address, kind: 'guardian' });
    const appointment = sent.find((x) => x.url.endsWith('/v1/delegates'))!;
    const post = async (who: MedblocClient) =>
      fetch(appointment.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await who.login()}` },
        body: appointment.body,
      });
    const replayed = await post(minor);
    assert.equal(replayed.status, 409);
    assert.equal(((await replayed.json()) as { code: string }).code, 'SIGNATURE_REPLAYED');
    const relayedByOther = await post(stranger);
    assert.equal(relayedByOther.status, 403);
    const [d] = await minor.delegates();
    assert.equal(d?.kind, 'guardian');
    assert.equal(d?.live, true);
  });

  test('for a minor, a guardian revokes a carer, but not another guardian', async () => {
    const child = createClient({ node: t.node.url, identity: newIdentity() });
    const [mother, father, nanny] = [0, 1, 2].map(() =>
      createClient({ node: t.node.url, identity: newIdentity() }),
    );
    for (const x of [child, mother!, father!, nanny!]) await x.register();
    await child.appointDelegate({ delegate: mother!.address, kind: 'guardian' });
    await child.appointDelegate({ delegate: father!.address, kind: 'guardian' });
    await child.appointDelegate({ delegate: nanny!.address, kind: 'carer' });
    // Not yet flagged a minor: a guardian may not revoke anyone.
    await assert.rejects(mother!.revokeDelegate({ patient: child.address, delegate: nanny!.address }), {
      code: 'FORBIDDEN',
    });
    await child.setMinor(true);
    await mother!.revokeDelegate({ patient: child.address, delegate: nanny!.address });
    await assert.rejects(mother!.revokeDelegate({ patient: child.address, delegate: father!.address }), {
      code: 'FORBIDDEN',
    });
    const list = await father!.delegates({ patient: child.address });
    const n = list.find((d) => d.delegate === nanny!.address);
    assert.equal(n?.revoked, true);
    assert.equal(n?.revokedBy, mother!.address);
    assert.deepEqual(
      list.filter((d) => d.live).map((d) => d.kind),
      ['guardian', 'guardian'],
    );
  });

  test('the same through the CLI: delegate add, list, grant --for, remove', async () => {
    const { run, ok } = await cliAt(t.node.url);
    const addr: Record<string, string> = {};
    for (const id of ['patient', 'carer']) {
      addr[id] = (JSON.parse(await ok(['--id', id, '--json', 'init'])) as { address: string }).address;
      await ok(['--id', id, 'account', 'register']);
    }
    await ok(['--id', 'patient', 'delegate', 'add', addr.carer!, '--kind', 'guardian']);
    const mine = JSON.parse(await ok(['--id', 'patient', '--json', 'delegate', 'list'])) as DelegateView[];
    assert.deepEqual(
      mine.map((d) => [d.delegate, d.kind, d.live]),
      [[addr.carer, 'guardian', true]],
    );
    const acting = await ok(['--id', 'carer', 'delegate', 'list', '--for']);
    assert.match(acting, new RegExp(`for ${addr.patient}`));
    assert.match(acting, /record list --owner/);
    await ok(['--id', 'carer', 'grant', c.provider.address, '--category', 'labs', '--for', addr.patient!]);
    const grants = JSON.parse(await ok(['--id', 'patient', '--json', 'grants', 'list'])) as GrantView[];
    assert.deepEqual(
      grants.map((g) => [g.grantee, g.category, g.signer]),
      [[c.provider.address, 'labs', addr.carer]],
    );
    await ok(['--id', 'patient', 'delegate', 'remove', addr.carer!]);
    assert.match(await ok(['--id', 'patient', 'delegate', 'list', '--all']), /revoked by/);
    const refused = await run([
      '--id',
      'carer',
      'revoke',
      c.provider.address,
      '--category',
      'labs',
      '--for',
      addr.patient!,
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /FORBIDDEN/);
  });
});

describe('delegation: a guardian reads the records of the patient it acts for', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  let child: MedblocClient;
  let guardian: MedblocClient;
  const before_: Hex[] = [];

  before(async () => {
    t = await startTestNode();
    c = await cast(t.node);
    child = createClient({ node: t.node.url, identity: newIdentity() });
    guardian = createClient({ node: t.node.url, identity: newIdentity() });
    await child.register();
    await guardian.register();
    // Written before the appointment: by the child itself, and by a provider in a batch.
    before_.push((await child.addRecord({ resource: lab(201) })).recordId);
    before_.push(
      ...(await c.provider.addRecords([{ resource: lab(202) }, { resource: note }], { owner: child.address }))
        .recordIds,
    );
  });
  after(() => t.stop());

  test('before the appointment the guardian reads nothing', async () => {
    await assert.rejects(guardian.getRecord(before_[0]!), { code: 'NOT_CERTIFIED' });
    await assert.rejects(guardian.listRecords({ owner: child.address }), { code: 'FORBIDDEN' });
  });

  test('once appointed it lists and opens every record, old and new, each verified and logged', async () => {
    await child.appointDelegate({ delegate: guardian.address, kind: 'guardian' });
    const single = await c.provider.addRecord({ owner: child.address, resource: lab(203) });
    const batch = await c.provider.addRecords([{ resource: lab(204) }], { owner: child.address });
    const ids = [...before_, single.recordId, ...batch.recordIds];
    const listed = await guardian.listRecords({ owner: child.address });
    assert.deepEqual(new Set(listed.map((r) => r.recordId)), new Set(ids));
    assert.ok(
      listed.every((r) => r.meta?.kind === 'fhir'),
      'every record’s metadata opens',
    );
    const expected = [lab(201), lab(202), note, lab(203), lab(204)];
    for (const [i, id] of ids.entries()) {
      const got = await guardian.getRecord(id);
      assert.deepEqual(got.resource, expected[i]);
      assert.ok(got.verification.checks.includes('key envelope'));
    }
    // The child sees each read in its access log, attributed to the guardian.
    const log = (await child.auditLog()).entries.filter(
      (e) => e.request.requester === guardian.address && e.outcome === 'granted',
    );
    for (const id of ids)
      assert.ok(
        log.some((e) => e.request.record === id),
        `read of ${id} logged`,
      );
    // Acting for the child covers its care, not research.
    await assert.rejects(guardian.getRecord(single.recordId, { purpose: 'research' }), {
      code: 'NOT_CERTIFIED',
    });
  });

  test('the guardian corrects a record: a new version for the child, superseding the old, signed by the guardian', async () => {
    const original = (await guardian.listRecords({ owner: child.address })).find(
      (r) => r.meta?.kind === 'fhir' && r.creator === c.provider.address,
    )!;
    const corrected = { ...lab(207), note: [{ text: 'corrected by the guardian' }] };
    const v2 = await guardian.addRecord({
      owner: child.address,
      resource: corrected,
      supersedes: original.recordId,
    });
    assert.equal(v2.creator, guardian.address);
    const mine = await child.listRecords();
    assert.equal(mine.find((r) => r.recordId === v2.recordId)?.supersedes, original.recordId);
    assert.equal(mine.find((r) => r.recordId === original.recordId)?.supersededBy, v2.recordId);
    const got = await guardian.getRecord(v2.recordId);
    assert.deepEqual(got.resource, corrected);
    assert.ok(got.verification.checks.includes('creator signature'));
  });

  test('a record filed under none of the child’s scopes is refused as such, not as a missing certification', async () => {
    const rec = await c.provider.addRecord({ owner: child.address, resource: lab(206) });
    assert.deepEqual((await guardian.getRecord(rec.recordId)).resource, lab(206));
    const db = new DatabaseSync(path.join(t.home, 'index.sqlite'));
    try {
      db.prepare('DELETE FROM record_scopes WHERE record_id = ?').run(rec.recordId.toLowerCase());
    } finally {
      db.close();
    }
    await assert.rejects(guardian.getRecord(rec.recordId), { code: 'ENVELOPE_NOT_FOUND' });
    // The child still reads it with its own key.
    assert.deepEqual((await child.getRecord(rec.recordId)).resource, lab(206));
    // A delegate that is also a certified provider with a grant of the record reads it through that grant.
    await child.grant({ grantee: c.provider.address, record: rec.recordId });
    await child.appointDelegate({ delegate: c.provider.address, kind: 'carer' });
    assert.deepEqual((await c.provider.getRecord(rec.recordId)).resource, lab(206));
  });

  test('the same through the CLI: record list --owner and record get', async () => {
    const { ok, fails } = await cliAt(t.node.url);
    const aunt = (JSON.parse(await ok(['--id', 'aunt', '--json', 'init'])) as { address: Hex }).address;
    await ok(['--id', 'aunt', 'account', 'register']);
    await fails(['--id', 'aunt', 'record', 'get', before_[0]!], 'NOT_CERTIFIED');
    await child.appointDelegate({ delegate: aunt, kind: 'carer' });
    const listed = JSON.parse(
      await ok(['--id', 'aunt', '--json', 'record', 'list', '--owner', child.address]),
    ) as {
      recordId: Hex;
    }[];
    assert.ok(before_.every((id) => listed.some((r) => r.recordId === id)));
    const got = JSON.parse(await ok(['--id', 'aunt', '--json', 'record', 'get', before_[0]!])) as {
      resource: unknown;
    };
    assert.deepEqual(got.resource, lab(201));
  });

  test('revoked, it reads nothing more', async () => {
    await child.revokeDelegate({ delegate: guardian.address });
    await assert.rejects(guardian.getRecord(before_[0]!), { code: 'NOT_CERTIFIED' });
    await assert.rejects(guardian.listRecords({ owner: child.address }), { code: 'FORBIDDEN' });
    // What the child writes next is under keys the revoked guardian's keyring does not derive.
    const later = await child.addRecord({ resource: lab(205) });
    const scopes = (await child.listRecords()).find((r) => r.recordId === later.recordId)?.scopes ?? [];
    assert.ok(scopes.length > 0);
  });
});
