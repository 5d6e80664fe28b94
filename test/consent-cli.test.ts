/**
 * Consent and audit as a user drives them with the `medbloc` CLI: a patient grants a provider a category, the
 * provider reads, the patient revokes, lists grants, and checks the access log; a tampered log fails `audit verify`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliUser, startTestNode, tempDir } from './support/harness.ts';

const lab = {
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  valueQuantity: { value: 95, unit: 'mg/dL' },
};

describe('consent and audit through the CLI', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let keys: string;
  const addr: Record<string, string> = {};
  const { ok, fails } = cliUser(() => ({
    MEDBLOC_NODE: t.node.url,
    MEDBLOC_KEYS_DIR: keys,
    MEDBLOC_PASSPHRASE: 'a long passphrase',
    MEDBLOC_HOME: t.home,
  }));

  before(async () => {
    t = await startTestNode({ MEDBLOC_AUDIT_INTERVAL_MS: '200' });
    keys = await tempDir('medbloc-keys-');
    for (const id of ['authority', 'provider', 'patient']) {
      addr[id] = (
        JSON.parse((await ok(['--id', id, '--json', 'init'])).stdout) as { address: string }
      ).address;
    }
    await t.node.addAuthority(addr.authority as `0x${string}`);
    await ok(['--id', 'authority', 'account', 'register']);
    await ok(['--id', 'provider', 'account', 'register', '--role', 'provider']);
    await ok(['--id', 'patient', 'account', 'register']);
    await ok(['--id', 'authority', 'authority', 'certify', addr.provider!]);
  });
  after(() => t.stop());

  test('grant, read, revoke, grants list and a verified access log', async () => {
    const file = path.join(keys, 'lab.json');
    await writeFile(file, JSON.stringify(lab));
    const rec = JSON.parse((await ok(['--id', 'patient', '--json', 'record', 'add', file])).stdout) as {
      recordId: string;
    };
    await fails(['--id', 'provider', 'record', 'get', rec.recordId], 'FORBIDDEN');
    await fails(['--id', 'patient', 'grant', addr.provider!], 'INVALID_SCOPE');
    await ok(['--id', 'patient', 'grant', addr.provider!, '--category', 'labs', '--expires', '2099-01-01']);
    const got = await ok(['--id', 'provider', 'record', 'get', rec.recordId]);
    assert.equal((JSON.parse(got.stdout) as typeof lab).valueQuantity.value, 95);
    const listed = await ok(['--id', 'patient', '--json', 'grants', 'list']);
    const grants = JSON.parse(listed.stdout) as { category?: string; grantee: string; live: boolean }[];
    assert.deepEqual(
      grants.map((g) => [g.category, g.grantee, g.live]),
      [['labs', addr.provider, true]],
    );
    const received = await ok(['--id', 'provider', 'grants', 'list', '--received']);
    assert.match(received.stdout, /1 grant/);
    const revoked = await ok(['--id', 'patient', 'revoke', addr.provider!, '--category', 'labs']);
    assert.match(revoked.stdout, /epoch 1/);
    await fails(['--id', 'provider', 'record', 'get', rec.recordId], 'FORBIDDEN');
    assert.match((await ok(['--id', 'patient', 'grants', 'list'])).stdout, /No live grants/);

    await sleep(600);
    const log = await ok(['--id', 'patient', 'audit', 'list']);
    assert.match(log.stdout, new RegExp(`granted .*${addr.provider}`));
    assert.match(log.stdout, new RegExp(`denied .*${addr.provider}`));
    assert.match((await ok(['--id', 'patient', 'audit', 'verify'])).stdout, /verifies/);

    const db = new DatabaseSync(path.join(t.home, 'index.sqlite'));
    db.prepare('DELETE FROM receipts WHERE owner = ? AND seq = 1').run(addr.patient!.toLowerCase());
    db.close();
    await fails(['--id', 'patient', 'audit', 'verify'], 'AUDIT_INVALID');
  });

  test('emergency set, show and open', async () => {
    await ok([
      '--id',
      'patient',
      'emergency',
      'set',
      '--blood-type',
      'A+',
      '--allergy',
      'latex',
      '--contact',
      'Sam:555',
    ]);
    assert.match((await ok(['--id', 'patient', 'emergency', 'show'])).stdout, /Blood type\s+A\+/);
    await fails(['--id', 'provider', 'emergency', 'open', addr.patient!, '--reason', ' '], 'REASON_REQUIRED');
    const opened = await ok([
      '--id',
      'provider',
      'emergency',
      'open',
      addr.patient!,
      '--reason',
      'anaphylaxis',
    ]);
    assert.match(opened.stdout, /Allergies\s+latex/);
  });
});
