/**
 * The spine through the SDK against a real node and chain: certified writes, bulk batches, verified reads, and every
 * way a record can be attacked or mis-sent being refused without leaving anything half-written.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { anchorRecordTypes, domainFor, type RecordSummary, ZERO_HASH } from '@medbloc/core';
import { createClient, IngestError, MedblocApiError, RecordVerificationError } from '@medbloc/sdk';
import { cast, FIXTURES, newIdentity, startTestNode } from './support/harness.ts';

let nodeUrl = '';

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

const heartRate = (value: number) => ({
  ...observation,
  valueQuantity: { ...observation.valueQuantity, value },
});

/** The next record-anchor nonce the chain expects of `address`, as the node reports it. */
async function recordNonce(address: string): Promise<bigint> {
  const res = await fetch(`${nodeUrl}/v1/accounts/${address}/nonces`);
  return BigInt(((await res.json()) as { records: string }).records);
}

async function blobFiles(home: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(path.join(home, 'storage', 'blobs'));
  return out;
}

async function blobFileOf(home: string, cid: string) {
  const f = (await blobFiles(home)).find((p) => p.endsWith(cid));
  assert.ok(f, `blob ${cid} is on disk`);
  return f;
}

describe('records through the SDK', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  before(async () => {
    t = await startTestNode();
    nodeUrl = t.node.url;
    c = await cast(t.node);
  });
  after(() => t.stop());

  test('a patient adds a record, lists it and reads it back verified', async () => {
    const rec = await c.patient.addRecord({ resource: observation });
    assert.equal(rec.owner, c.patient.address);
    assert.equal(rec.creator, c.patient.address);
    const listed = await c.patient.listRecords();
    const mine = listed.find((r) => r.recordId === rec.recordId);
    assert.ok(mine);
    assert.equal(mine.meta?.resourceType, 'Observation');
    const got = await c.patient.getRecord(rec.recordId);
    assert.deepEqual(got.resource, observation);
    assert.ok(got.verification.checks.includes('anchor (on chain)'));
    assert.ok(got.verification.checks.includes('creator signature'));
  });

  test('a certified provider writes a Synthea bundle for a patient in one batch; every record verifies', async () => {
    const dir = path.join(FIXTURES, 'fhir/synthea');
    const file = (await readdir(dir))
      .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
      .sort()[1]!;
    const bundle = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
      entry: { resource: Record<string, unknown> }[];
    };
    const resources = bundle.entry.map((e) => e.resource);
    const out = await c.provider.addRecords(
      resources.map((resource) => ({ resource })),
      { owner: c.patient.address },
    );
    assert.equal(out.recordIds.length, resources.length);
    const listed = await c.patient.listRecords();
    const ids = new Set(listed.map((r) => r.recordId));
    for (const id of out.recordIds) assert.ok(ids.has(id), `record ${id} is listed`);
    // One chain transaction for the whole bundle.
    const batched = listed.filter(
      (r) => r.authorisation?.kind === 'batch' && r.authorisation.root === out.root,
    );
    assert.equal(batched.length, resources.length);
    assert.equal(new Set(batched.map((r) => r.txHash)).size, 1);
    for (const [i, id] of out.recordIds.entries()) {
      if (i % 25 !== 0) continue;
      const got = await c.patient.getRecord(id);
      assert.deepEqual(got.resource, resources[i]);
      assert.ok(got.verification.batched);
      assert.ok(got.verification.checks.includes('merkle inclusion (on chain)'));
    }
    // The provider wrote them but holds no key: it cannot list or read the patient's records.
    await assert.rejects(c.provider.listRecords({ owner: c.patient.address }), { code: 'FORBIDDEN' });
  });

  test('bulk ingest streams records in batches, several in flight, and returns their ids in input order', async () => {
    const values = Array.from({ length: 23 }, (_, i) => 100 + i);
    let pulled = 0;
    function* source() {
      for (const v of values) {
        pulled++;
        yield { resource: heartRate(v) };
      }
    }
    const progress: number[] = [];
    const start = await recordNonce(c.provider.address);
    const out = await c.provider.ingest(source(), {
      owner: c.patient.address,
      batchSize: 5,
      inFlight: 2,
      onProgress: (n) => progress.push(n),
    });
    assert.equal(pulled, 23);
    assert.equal(out.recordIds.length, 23);
    assert.deepEqual(
      out.batches.map((b) => [b.first, b.recordIds.length]),
      [
        [0, 5],
        [5, 5],
        [10, 5],
        [15, 5],
        [20, 3],
      ],
    );
    assert.equal(new Set(out.batches.map((b) => b.txHash)).size, 5, 'one transaction per batch');
    assert.equal(await recordNonce(c.provider.address), start + 5n);
    assert.equal(progress.length, 5, 'progress once per batch');
    assert.ok(
      progress.every((n, i) => i === 0 || n > progress[i - 1]!),
      'progress only grows',
    );
    assert.equal(progress.at(-1), 23);
    for (const i of [0, 7, 22]) {
      const got = await c.patient.getRecord(out.recordIds[i]!);
      assert.equal((got.resource as typeof observation).valueQuantity.value, values[i]);
    }
  });

  test('a refused batch stops a bulk ingest; the error lists exactly the batches that were stored', async () => {
    const before = (await c.patient.listRecords()).length;
    let pulled = 0;
    function* source() {
      for (let i = 0; i < 40; i++) {
        pulled++;
        // The third batch carries a correction of a record that does not exist: the node refuses that batch.
        yield i === 12
          ? { resource: heartRate(i), supersedes: `0x${'ab'.repeat(32)}` as const }
          : { resource: heartRate(i) };
      }
    }
    const err = await c.provider
      .ingest(source(), { owner: c.patient.address, batchSize: 5, inFlight: 2 })
      .then(
        () => assert.fail('the ingest should stop'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof IngestError);
    assert.equal(err.code, 'INGEST_PARTIAL');
    assert.equal((err.cause as MedblocApiError).code, 'SUPERSEDED_UNKNOWN');
    assert.ok(!err.stored.some((b) => b.first === 10), 'the refused batch is not listed as stored');
    assert.ok(pulled < 40, 'no batch is started after the refusal is known');
    const listed = new Set((await c.patient.listRecords()).map((r) => r.recordId));
    const storedIds = err.stored.flatMap((b) => b.recordIds);
    assert.equal(listed.size, before + storedIds.length, 'exactly the listed batches were stored');
    for (const id of storedIds) assert.ok(listed.has(id));
  });

  test('a correction supersedes the original; both stay readable', async () => {
    const first = await c.patient.addRecord({ resource: observation });
    const fixed = await c.patient.addRecord({
      resource: { ...observation, valueQuantity: { ...observation.valueQuantity, value: 74 } },
      supersedes: first.recordId,
    });
    assert.equal(fixed.supersedes, first.recordId);
    const listed = await c.patient.listRecords();
    assert.equal(listed.find((r) => r.recordId === first.recordId)?.supersededBy, fixed.recordId);
    assert.equal(
      ((await c.patient.getRecord(first.recordId)).resource as typeof observation).valueQuantity.value,
      72,
    );
    await assert.rejects(c.patient.addRecord({ resource: observation, supersedes: `0x${'ab'.repeat(32)}` }), {
      code: 'SUPERSEDED_UNKNOWN',
    });
  });

  test('one client keeps several anchors in flight at once; each lands once, with consecutive nonces', async () => {
    const start = await recordNonce(c.patient.address);
    const sent = await Promise.all([
      c.patient.addRecords([60, 61, 62].map((v) => ({ resource: heartRate(v) }))),
      c.patient.addRecord({ resource: heartRate(63) }),
      c.patient.addRecords([64, 65].map((v) => ({ resource: heartRate(v) }))),
      c.patient.addRecord({ resource: heartRate(66) }),
    ]);
    assert.equal(await recordNonce(c.patient.address), start + 4n);
    assert.equal(new Set(sent.map((s) => s.txHash)).size, 4, 'one transaction each');
    const ids = sent.flatMap((s) => ('recordIds' in s ? s.recordIds : [s.recordId]));
    const values = await Promise.all(
      ids.map(
        async (id) => ((await c.patient.getRecord(id)).resource as typeof observation).valueQuantity.value,
      ),
    );
    assert.deepEqual(
      values.sort((a, b) => a - b),
      [60, 61, 62, 63, 64, 65, 66],
    );
  });

  test('two clients of one account write at the same time; the node hands out nonces past those in flight', async () => {
    const second = createClient({ node: t.node.url, identity: c.ids.patient });
    const start = await recordNonce(c.patient.address);
    const sent = await Promise.all([
      c.patient.addRecords([70, 71].map((v) => ({ resource: heartRate(v) }))),
      second.addRecords([72, 73].map((v) => ({ resource: heartRate(v) }))),
      c.patient.addRecord({ resource: heartRate(74) }),
      second.addRecord({ resource: heartRate(75) }),
      second.addRecords([76].map((v) => ({ resource: heartRate(v) }))),
    ]);
    assert.equal(await recordNonce(c.patient.address), start + 5n);
    const ids = sent.flatMap((s) => ('recordIds' in s ? s.recordIds : [s.recordId]));
    const values = await Promise.all(
      ids.map(
        async (id) => ((await second.getRecord(id)).resource as typeof observation).valueQuantity.value,
      ),
    );
    assert.deepEqual(
      values.sort((a, b) => a - b),
      [70, 71, 72, 73, 74, 75, 76],
    );
  });

  test('anchors reaching the node ahead of their nonce wait for the ones before them', async () => {
    const info = await c.patient.nodeInfo();
    const token = await c.patient.login();
    const start = await recordNonce(c.patient.address);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
    const bodies = await Promise.all(
      [0n, 1n].map(async (k) => {
        const bytes = crypto.getRandomValues(new Uint8Array(100));
        const up = await fetch(`${t.node.url}/v1/blobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
          body: bytes,
        });
        assert.ok(up.ok, `upload: ${up.status}`);
        const fields = {
          owner: c.patient.address,
          creator: c.patient.address,
          digest: `0x${createHash('sha256').update(bytes).digest('hex')}` as const,
          keyCommitment: `0x${createHash('sha256').update(bytes).update('kc').digest('hex')}` as const,
          supersedes: ZERO_HASH,
        };
        const nonce = start + k;
        const signature = await c.ids.patient.account.signTypedData({
          domain: domainFor(info.chainId, info.contracts.recordRegistry),
          types: anchorRecordTypes,
          primaryType: 'AnchorRecord',
          message: { ...fields, nonce, deadline },
        });
        return JSON.stringify({
          ...fields,
          nonce: nonce.toString(),
          deadline: deadline.toString(),
          signature,
          envelope: 'opaque',
        });
      }),
    );
    const post = (body: string) =>
      fetch(`${t.node.url}/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
    // The second nonce first: the node holds it until the first has been relayed.
    const second = post(bodies[1]!);
    await new Promise((r) => setTimeout(r, 200));
    const first = await post(bodies[0]!);
    const later = await second;
    assert.equal(first.status, 201, JSON.stringify(await first.clone().json()));
    assert.equal(later.status, 201, JSON.stringify(await later.clone().json()));
    const [a, b] = [(await first.json()) as RecordSummary, (await later.json()) as RecordSummary];
    assert.ok(a.blockNumber < b.blockNumber, 'relayed in nonce order');
    assert.equal(await recordNonce(c.patient.address), start + 2n);
  });

  test('when an anchor ahead of it is refused, the client signs its next one again and it lands', async () => {
    // What this client sends is watched, and the anchor to be refused is held back until the batch behind it has been
    // signed and sent, so both are in flight together.
    const posts: bigint[] = [];
    const signal = () => {
      let open!: () => void;
      return { done: new Promise<void>((r) => (open = r)), open: () => open() };
    };
    const firstSigned = signal();
    const secondSent = signal();
    const client = createClient({
      node: t.node.url,
      identity: c.ids.patient,
      fetch: async (input, init) => {
        if (init?.method === 'POST' && /\/v1\/records(\/batch)?$/.test(String(input))) {
          posts.push(BigInt((JSON.parse(String(init.body)) as { nonce: string }).nonce));
          if (posts.length === 1) {
            firstSigned.open();
            await secondSent.done;
          } else if (posts.length === 2) secondSent.open();
        }
        return fetch(input, init);
      },
    });
    const start = await recordNonce(c.patient.address);
    const refused = client.addRecord({ resource: observation, supersedes: `0x${'ab'.repeat(32)}` });
    await firstSigned.done;
    const behind = client.addRecords([{ resource: heartRate(90) }]);
    await assert.rejects(refused, { code: 'SUPERSEDED_UNKNOWN' });
    const out = await behind;
    // Signed with the nonce after the refused one, refused as out of order, signed again with the freed nonce.
    assert.deepEqual(posts, [start, start + 1n, start]);
    assert.equal(await recordNonce(c.patient.address), start + 1n);
    const got = await c.patient.getRecord(out.recordIds[0]!);
    assert.equal((got.resource as typeof observation).valueQuantity.value, 90);
  });

  test('an uncertified provider cannot write for a patient, and nothing is left behind', async () => {
    const rogue = createClient({ node: t.node.url, identity: newIdentity() });
    await rogue.register({ roles: ['provider'] });
    const before = (await c.patient.listRecords()).length;
    const blobsBefore = (await blobFiles(t.home)).length;
    await assert.rejects(
      rogue.addRecord({ resource: observation, owner: c.patient.address }),
      (err: unknown) => {
        assert.ok(err instanceof MedblocApiError);
        assert.equal(err.code, 'NOT_CERTIFIED');
        return true;
      },
    );
    await assert.rejects(rogue.addRecords([{ resource: observation }], { owner: c.patient.address }), {
      code: 'NOT_CERTIFIED',
    });
    assert.equal((await c.patient.listRecords()).length, before);
    assert.equal((await blobFiles(t.home)).length, blobsBefore, 'no orphan ciphertext remains');
  });

  test('revoking a certification stops further writes', async () => {
    const doc = createClient({ node: t.node.url, identity: newIdentity() });
    await doc.register({ roles: ['provider'] });
    await c.authority.certify(doc.address);
    await doc.addRecord({ resource: observation, owner: c.patient.address });
    await c.authority.revokeCertification(doc.address);
    assert.equal((await doc.account()).certifications[0]?.certified, false);
    await assert.rejects(doc.addRecord({ resource: observation, owner: c.patient.address }), {
      code: 'NOT_CERTIFIED',
    });
  });

  test('a non-authority cannot certify', async () => {
    await assert.rejects(c.patient.certify(c.patient.address), { code: 'NOT_AUTHORITY' });
  });

  test('a flipped byte in a stored blob is detected and never served as data', async () => {
    const rec = await c.patient.addRecord({ resource: observation });
    const file = await blobFileOf(t.home, rec.cid);
    const bytes = await readFile(file);
    bytes[bytes.length - 5]! ^= 0x01;
    await writeFile(file, bytes);
    await assert.rejects(c.patient.getRecord(rec.recordId), (err: unknown) => {
      assert.ok(err instanceof MedblocApiError || err instanceof RecordVerificationError, String(err));
      return true;
    });
    await assert.rejects(c.patient.verifyRecord(rec.recordId));
  });

  test("a swapped blob (another record's ciphertext under this CID) is refused", async () => {
    const a = await c.patient.addRecord({ resource: observation });
    const b = await c.patient.addRecord({ resource: { ...observation, id: 'other' } });
    await writeFile(await blobFileOf(t.home, a.cid), await readFile(await blobFileOf(t.home, b.cid)));
    await assert.rejects(c.patient.getRecord(a.recordId));
  });

  test('a wrong key envelope is refused', async () => {
    const a = await c.patient.addRecord({ resource: observation });
    const b = await c.patient.addRecord({ resource: { ...observation, id: 'b' } });
    const db = new DatabaseSync(path.join(t.home, 'index.sqlite'));
    db.prepare(
      'UPDATE envelopes SET envelope = (SELECT envelope FROM envelopes WHERE record_id = ?) WHERE record_id = ?',
    ).run(b.recordId, a.recordId);
    db.close();
    await assert.rejects(c.patient.getRecord(a.recordId), { code: 'ENVELOPE_INVALID' });
  });

  test('replayed and expired signatures are refused by the node', async () => {
    const info = await c.patient.nodeInfo();
    const anchor = async (deadline: bigint, nonce: bigint) => {
      const fields = {
        owner: c.patient.address,
        creator: c.patient.address,
        digest: `0x${'11'.repeat(32)}` as const,
        keyCommitment: `0x${'22'.repeat(32)}` as const,
        supersedes: ZERO_HASH,
      };
      const signature = await c.ids.patient.account.signTypedData({
        domain: domainFor(info.chainId, info.contracts.recordRegistry),
        types: anchorRecordTypes,
        primaryType: 'AnchorRecord',
        message: { ...fields, nonce, deadline },
      });
      const token = await c.patient.login();
      const res = await fetch(`${t.node.url}/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          ...fields,
          nonce: nonce.toString(),
          deadline: deadline.toString(),
          signature,
          envelope: 'x',
        }),
      });
      return (await res.json()) as { code: string };
    };
    const now = BigInt(Math.floor(Date.now() / 1000));
    const nonces = (await (await fetch(`${t.node.url}/v1/accounts/${c.patient.address}/nonces`)).json()) as {
      records: string;
    };
    assert.equal((await anchor(now - 10n, BigInt(nonces.records))).code, 'SIGNATURE_EXPIRED');
    assert.equal((await anchor(now + 600n, BigInt(nonces.records) - 1n)).code, 'SIGNATURE_REPLAYED');
  });

  test('unknown records and missing sessions get specific problems', async () => {
    await assert.rejects(c.patient.getRecord(`0x${'cd'.repeat(32)}`), { code: 'RECORD_NOT_FOUND' });
    const res = await fetch(`${t.node.url}/v1/records`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHENTICATED');
    const bad = await fetch(`${t.node.url}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"account": ',
    });
    assert.equal(((await bad.json()) as { code: string }).code, 'INVALID_JSON');
  });

  test('health reports the chain and contracts; the OpenAPI document is served', async () => {
    const h = (await (await fetch(`${t.node.url}/health`)).json()) as {
      chainId: number;
      blockNumber: number;
      contracts: Record<string, string>;
    };
    assert.equal(h.chainId, t.node.deployment.chainId);
    assert.ok(h.blockNumber > 0);
    assert.equal(h.contracts.recordRegistry, t.node.deployment.recordRegistry);
    const doc = (await (await fetch(`${t.node.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/v1/records/batch']);
    // The web app is served at / (single-page: unknown pages fall back to it); API misses stay problems.
    const page = await fetch(`${t.node.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<div id="root">|<script/);
    assert.match((await fetch(`${t.node.url}/timeline`)).headers.get('content-type') ?? '', /text\/html/);
    const miss = await fetch(`${t.node.url}/v1/nothing-here`);
    assert.equal(miss.status, 404);
    assert.equal(((await miss.json()) as { code: string }).code, 'NOT_FOUND');
  });
});

describe('quota and upload limits', () => {
  test('an oversized upload is refused and leaves nothing; the quota counts per account', async () => {
    const t = await startTestNode({
      MEDBLOC_MAX_UPLOAD_BYTES: String(256 * 1024),
      MEDBLOC_FREE_QUOTA_BYTES: String(600 * 1024),
    });
    try {
      const p = createClient({ node: t.node.url, identity: newIdentity() });
      await p.register();
      const big = new Uint8Array(300 * 1024).fill(7);
      await assert.rejects(p.addRecord({ content: big }), { code: 'UPLOAD_TOO_LARGE' });
      assert.equal((await blobFiles(t.home)).length, 0);
      await p.addRecord({ content: new Uint8Array(250 * 1024).fill(1) });
      await p.addRecord({ content: new Uint8Array(250 * 1024).fill(2) });
      await assert.rejects(p.addRecord({ content: new Uint8Array(250 * 1024).fill(3) }), {
        code: 'QUOTA_EXCEEDED',
      });
      const usage = await p.usage();
      assert.ok(usage.used > 500 * 1024 && usage.used <= 600 * 1024);
      assert.equal((await p.listRecords()).length, 2);
    } finally {
      await t.stop();
    }
  });
});

describe('restart', () => {
  test('a node restarted on the same data directory resumes with accounts, records and anchors intact', async () => {
    const t = await startTestNode();
    const c = await cast(t.node);
    const rec = await c.patient.addRecord({ resource: observation });
    const batch = await c.provider.addRecords(
      [{ resource: observation }, { resource: { ...observation, id: 'x' } }],
      { owner: c.patient.address },
    );
    await t.node.stop();
    const again = await startTestNode({}, t.home);
    try {
      const patient = createClient({ node: again.node.url, identity: c.ids.patient });
      const listed = await patient.listRecords();
      assert.deepEqual(new Set(listed.map((r) => r.recordId)), new Set([rec.recordId, ...batch.recordIds]));
      for (const r of listed) await patient.verifyRecord(r.recordId);
      assert.equal(again.node.deployment.recordRegistry, t.node.deployment.recordRegistry);
      const provider = createClient({ node: again.node.url, identity: c.ids.provider });
      assert.equal((await provider.account()).certifications[0]?.certified, true);
    } finally {
      await again.stop();
    }
  });
});
