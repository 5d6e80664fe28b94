/**
 * Crash safety: a node process killed with SIGKILL in the middle of bulk ingest, then started again on the same
 * data directory, has lost no record whose write it acknowledged, and lists nothing it cannot serve.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createClient, IngestError } from '@medbloc/sdk';
import { cli, FIXTURES, newIdentity, spawnNode, tempDir } from './support/harness.ts';

test('SIGKILL during bulk ingest loses no acknowledged record and leaves no unreadable one', async () => {
  const home = await tempDir();
  const first = await spawnNode(home);
  const ids = { authority: newIdentity(), provider: newIdentity(), patient: newIdentity() };
  const client = (url: string, id: keyof typeof ids) => createClient({ node: url, identity: ids[id] });
  const authority = client(first.url, 'authority');
  const provider = client(first.url, 'provider');
  const patient = client(first.url, 'patient');
  await authority.register();
  await provider.register({ roles: ['provider'] });
  await patient.register();
  // The embedded admin appoints the authority through the CLI's operator command path.
  const granted = await cli(['admin', 'add-authority', authority.address, '--home', home]);
  assert.equal(granted.code, 0, granted.stderr);
  await authority.certify(provider.address);

  const dir = path.join(FIXTURES, 'fhir/synthea');
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
    .sort()
    .slice(0, 6);
  const bundles = await Promise.all(
    files.map(async (f) =>
      (
        JSON.parse(await readFile(path.join(dir, f), 'utf8')) as {
          entry: { resource: Record<string, unknown> }[];
        }
      ).entry.map((e) => ({ resource: e.resource })),
    ),
  );

  // The SDK's bulk ingest, small batches with three in flight: when the node dies, some batches are acknowledged,
  // some stored but not yet anchored, some on their way in.
  let killed = false;
  const outcome = await provider
    .ingest(bundles.flat(), {
      owner: patient.address,
      batchSize: 40,
      inFlight: 3,
      onProgress: (stored) => {
        if (stored >= 120 && !killed) {
          killed = true;
          setTimeout(() => first.child.kill('SIGKILL'), 40);
        }
      },
    })
    .then(
      () => assert.fail('the ingest outlived the node'),
      (err: unknown) => err,
    );
  assert.ok(killed, 'the node was killed mid-ingest');
  assert.ok(outcome instanceof IngestError, String(outcome));
  const acknowledged = outcome.stored.flatMap((b) => b.recordIds);
  assert.ok(acknowledged.length >= 120);
  if (first.child.exitCode === null && first.child.signalCode === null)
    await new Promise((r) => first.child.once('exit', r));

  const second = await spawnNode(home);
  try {
    const reader = client(second.url, 'patient');
    const listed = await reader.listRecords();
    const listedIds = new Set(listed.map((r) => r.recordId));
    for (const id of acknowledged)
      assert.ok(listedIds.has(id as `0x${string}`), `acknowledged record ${id} survived`);
    for (const r of listed) await reader.verifyRecord(r.recordId);
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }
});

test('with its chain gone, the node answers 503 CHAIN_UNAVAILABLE problems, and stops cleanly', async () => {
  const home = await tempDir();
  const node = await spawnNode(home);
  const exited = new Promise((resolve) => node.child.once('exit', resolve));
  try {
    assert.equal((await fetch(`${node.url}/health`)).status, 200);
    process.kill(Number(await readFile(path.join(home, 'chain', 'anvil.pid'), 'utf8')), 'SIGKILL');
    for (const route of ['/health', `/v1/accounts/${newIdentity().address}/nonces`]) {
      const res = await fetch(`${node.url}${route}`);
      assert.equal(res.status, 503, route);
      assert.equal(((await res.json()) as { code: string }).code, 'CHAIN_UNAVAILABLE', route);
    }
  } finally {
    node.child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});
