/**
 * A patient's notifications: a record a provider added for them, the first read by a new party, and a break-glass
 * opening of their emergency profile — through the SDK and `medbloc notifications`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { encryptKeystore } from '@medbloc/core';
import { cast, cli, startTestNode, tempDir } from './support/harness.ts';

let t: Awaited<ReturnType<typeof startTestNode>>;
let c: Awaited<ReturnType<typeof cast>>;
before(async () => {
  t = await startTestNode();
  c = await cast(t.node);
});
after(() => t.stop());

test('the patient hears of records added for them, new readers and emergency openings — and only the patient', async () => {
  const start = new Date(Date.now() - 5_000);
  assert.deepEqual((await c.patient.notifications()).notifications, []);
  const rec = await c.provider.addRecord({
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' } },
    owner: c.patient.address,
  });
  await c.patient.grant({ grantee: c.provider.address, record: rec.recordId, purpose: 'care' });
  await c.provider.getRecord(rec.recordId);
  await c.provider.getRecord(rec.recordId);
  await c.patient.setEmergencyProfile({ bloodType: 'O-', allergies: ['penicillin'] });
  const opened = await c.provider.breakGlass(c.patient.address, 'unconscious on arrival');

  const { notifications } = await c.patient.notifications(start);
  const kinds = notifications.map((n) => n.kind).sort();
  assert.deepEqual(kinds, ['break-glass', 'new-accessor', 'record-added']);
  assert.ok(notifications.every((n) => n.actor === c.provider.address));
  assert.equal(notifications.find((n) => n.kind === 'record-added')?.subject, rec.recordId);
  assert.equal(notifications.find((n) => n.kind === 'break-glass')?.subject, opened.requestId);
  assert.equal(notifications.find((n) => n.kind === 'break-glass')?.outcome, 'granted');
  // Newest first; nothing from the future.
  const times = notifications.map((n) => n.time);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
  );
  assert.deepEqual((await c.patient.notifications(new Date(Date.now() + 60_000))).notifications, []);
  // The provider has none of the patient's, and cannot ask for them.
  assert.deepEqual((await c.provider.notifications()).notifications, []);

  // The same through the CLI.
  const keys = await tempDir();
  await writeFile(
    path.join(keys, 'patient.json'),
    JSON.stringify(await encryptKeystore(c.ids.patient.mnemonic, 'patient pass')),
  );
  const env = { MEDBLOC_NODE: t.node.url, MEDBLOC_KEYS_DIR: keys, MEDBLOC_PASSPHRASE: 'patient pass' };
  const r = await cli(['--id', 'patient', 'notifications'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /EMERGENCY ACCESS to your emergency profile by 0x/);
  assert.match(r.stdout, /new record added for you by 0x/);
  assert.match(r.stdout, /read your data for the first time/);
});
