/**
 * The `medbloc` CLI as a user drives it, against a real node and chain: identities, registration, certification,
 * records in and out, and one-line errors (non-zero exit, nothing changed) for every kind of bad input. Ends with a
 * scan of everything the node stores — disk, database, chain state — for plaintext and keys.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decryptKeystore, identityFromMnemonic } from '@medbloc/core';
import {
  assertAbsent,
  chainText,
  cli,
  cliUser,
  FIXTURES,
  fileHaystacks,
  filesUnder,
  startTestNode,
  tempDir,
} from './support/harness.ts';

describe('medbloc CLI', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let keys: string;
  const pass = 'correct horse battery staple';
  const env = () => ({
    MEDBLOC_NODE: t.node.url,
    MEDBLOC_KEYS_DIR: keys,
    MEDBLOC_PASSPHRASE: pass,
    MEDBLOC_HOME: t.home,
  });
  const { run, ok, fails } = cliUser(env);
  const addr: Record<string, string> = {};
  const mnemonics: string[] = [];
  const bundleDir = path.join(FIXTURES, 'fhir/synthea');
  let bundleFile: string;
  let recordIds: string[] = [];

  before(async () => {
    t = await startTestNode();
    keys = await tempDir('medbloc-keys-');
    bundleFile = path.join(
      bundleDir,
      (await readdir(bundleDir))
        .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
        .sort()[2]!,
    );
  });
  after(() => t.stop());

  test('init creates identities, shows the mnemonic once and keeps it only encrypted', async () => {
    for (const id of ['authority', 'provider', 'patient']) {
      const r = await ok(['--id', id, '--json', 'init']);
      const out = JSON.parse(r.stdout) as { address: string; mnemonic: string; keystore: string };
      addr[id] = out.address;
      mnemonics.push(out.mnemonic);
      assert.equal(identityFromMnemonic(out.mnemonic).address, out.address);
      const ks = await readFile(out.keystore, 'utf8');
      assert.ok(
        !ks.includes(`${out.mnemonic.split(' ')[0]!} ${out.mnemonic.split(' ')[1]!}`),
        'keystore holds no mnemonic in the clear',
      );
      assert.equal(await decryptKeystore(JSON.parse(ks), pass), out.mnemonic);
    }
    await fails(['--id', 'patient', 'init'], 'IDENTITY_EXISTS');
  });

  test('register, appoint an authority, certify a provider', async () => {
    await ok(['--id', 'authority', 'account', 'register']);
    await ok(['--id', 'provider', 'account', 'register', '--role', 'provider']);
    await ok(['--id', 'patient', 'account', 'register']);
    await ok(['admin', 'add-authority', addr.authority!, '--home', t.home]);
    await fails(['--id', 'patient', 'authority', 'certify', addr.provider!], 'NOT_AUTHORITY');
    await ok(['--id', 'authority', 'authority', 'certify', addr.provider!, '--credential', 'licence 42']);
    const shown = JSON.parse((await ok(['--id', 'provider', '--json', 'account', 'show'])).stdout) as {
      certifications: { role: string; certified: boolean }[];
    };
    assert.deepEqual(
      shown.certifications.map((c) => [c.role, c.certified]),
      [['provider', true]],
    );
  });

  test('a provider adds a Synthea bundle for the patient; the patient lists, reads and verifies', async () => {
    const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as {
      entry: { resource: { resourceType: string } }[];
    };
    const r = await ok(['--id', 'provider', '--json', 'record', 'add', bundleFile, '--owner', addr.patient!]);
    recordIds = (JSON.parse(r.stdout) as { recordIds: string[] }).recordIds;
    assert.equal(recordIds.length, bundle.entry.length);
    const listed = JSON.parse((await ok(['--id', 'patient', '--json', 'record', 'list'])).stdout) as {
      recordId: string;
      meta: { resourceType: string };
    }[];
    assert.equal(listed.length, bundle.entry.length);
    const patientEntry = bundle.entry.findIndex((e) => e.resource.resourceType === 'Patient');
    const got = JSON.parse(
      (await ok(['--id', 'patient', '--json', 'record', 'get', recordIds[patientEntry]!])).stdout,
    ) as { resource: unknown };
    assert.deepEqual(got.resource, bundle.entry[patientEntry]!.resource);
    const text = (await ok(['--id', 'patient', 'record', 'verify', recordIds[0]!])).stdout;
    assert.match(text, /verifies/);
  });

  test('a provider bulk-ingests a folder of bundles and NDJSON in batches; one bad resource anywhere stores nothing', async () => {
    const count = async () =>
      (JSON.parse((await ok(['--id', 'patient', '--json', 'record', 'list'])).stdout) as unknown[]).length;
    const before = await count();
    const dir = await tempDir();
    await mkdir(path.join(dir, 'bundles'));
    const names = (await readdir(bundleDir))
      .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
      .sort()
      .slice(3, 5);
    let entries = 0;
    for (const name of names) {
      const text = await readFile(path.join(bundleDir, name), 'utf8');
      entries += (JSON.parse(text) as { entry: unknown[] }).entry.length;
      await writeFile(path.join(dir, 'bundles', name), text);
    }
    const lab = (value: number) =>
      JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });
    await writeFile(path.join(dir, 'vitals.ndjson'), `${lab(70)}\n${lab(71)}\n\n${lab(72)}\n`);
    // The same folder with one invalid resource on line 2 of another NDJSON file: refused before anything is stored.
    const bad = await tempDir();
    await writeFile(path.join(bad, 'a.ndjson'), `${lab(1)}\n${lab(2).replace('"final"', '"nonsense"')}\n`);
    const refused = await fails(
      ['--id', 'provider', 'record', 'ingest', dir, bad, '--owner', addr.patient!],
      'FHIR_INVALID',
    );
    assert.match(refused.stderr, /a\.ndjson: line 2 \(Observation\) is invalid/);
    await fails(['--id', 'provider', 'record', 'ingest', path.join(dir, 'nothing-here')], 'FILE_NOT_FOUND');
    // A JSON document over 64 MB is refused before it is read (a sparse file: nothing is written to the disk).
    const huge = path.join(bad, 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, 64 * 1024 * 1024 + 1);
    await fails(['--id', 'provider', 'record', 'ingest', huge], 'FHIR_TOO_LARGE');
    await rm(huge);
    assert.equal(await count(), before);

    type Ingested = { count: number; files: number; batches: { first: number; recordIds: string[] }[] };
    const ingest = async (...extra: string[]) =>
      JSON.parse(
        (
          await ok([
            '--id',
            'provider',
            '--json',
            'record',
            'ingest',
            dir,
            '--owner',
            addr.patient!,
            ...extra,
          ])
        ).stdout,
      ) as Ingested;
    const out = await ingest('--batch-size', '100');
    assert.equal(out.files, 3);
    assert.equal(out.count, entries + 3);
    assert.equal(out.batches.length, Math.ceil(out.count / 100));
    assert.deepEqual(
      out.batches.map((b) => b.first),
      out.batches.map((_, i) => i * 100),
    );
    assert.equal(await count(), before + out.count);
    // The last record is the NDJSON file's last line, read back intact.
    const last = out.batches.at(-1)!.recordIds.at(-1)!;
    const got = JSON.parse((await ok(['--id', 'patient', '--json', 'record', 'get', last])).stdout) as {
      resource: { valueQuantity: { value: number } };
    };
    assert.equal(got.resource.valueQuantity.value, 72);

    // Read again for sealing (--keep-mb 0, as a set larger than the limit is): the same records, in the same order.
    const again = await ingest('--keep-mb', '0');
    assert.equal(again.count, out.count);
    assert.equal(await count(), before + 2 * out.count);
    const lastAgain = JSON.parse(
      (await ok(['--id', 'patient', '--json', 'record', 'get', again.batches.at(-1)!.recordIds.at(-1)!]))
        .stdout,
    ) as { resource: unknown };
    assert.deepEqual(lastAgain.resource, got.resource);

    // The keystore unlocks while the files are checked, but a bad file is still reported first, and a wrong
    // passphrase stores nothing; so does a bad --keep-mb.
    const wrong = { MEDBLOC_PASSPHRASE: 'not the passphrase' };
    await fails(
      ['--id', 'provider', 'record', 'ingest', dir, bad, '--owner', addr.patient!],
      'FHIR_INVALID',
      wrong,
    );
    await fails(
      ['--id', 'provider', 'record', 'ingest', dir, '--owner', addr.patient!],
      'WRONG_PASSPHRASE',
      wrong,
    );
    await fails(['--id', 'provider', 'record', 'ingest', dir, '--keep-mb', '-1'], 'INVALID_ARGUMENT');
    assert.equal(await count(), before + 2 * out.count);
  });

  test('a file goes in and comes out identical, written only after verification', async () => {
    const dir = await tempDir();
    const src = path.join(dir, 'scan.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    await writeFile(src, data);
    const added = JSON.parse((await ok(['--id', 'patient', '--json', 'record', 'add', src])).stdout) as {
      recordId: string;
    };
    const out = path.join(dir, 'back.bin');
    await ok(['--id', 'patient', 'record', 'get', added.recordId, '-o', out]);
    assert.ok((await readFile(out)).equals(data));
  });

  test('bad input gets a one-line specific error, a non-zero exit, and changes nothing', async () => {
    const dir = await tempDir();
    const count = async () =>
      (JSON.parse((await ok(['--id', 'patient', '--json', 'record', 'list'])).stdout) as unknown[]).length;
    const before = await count();
    const malformed = path.join(dir, 'bad.json');
    await writeFile(malformed, '{"resourceType": "Observation", "status": ');
    await fails(['--id', 'patient', 'record', 'add', malformed], 'INVALID_JSON');
    const invalid = path.join(dir, 'invalid.json');
    await writeFile(
      invalid,
      JSON.stringify({ resourceType: 'Observation', status: 'nonsense', code: { text: 'x' } }),
    );
    await fails(['--id', 'patient', 'record', 'add', invalid], 'FHIR_INVALID');
    await fails(['--id', 'patient', 'record', 'add', path.join(dir, 'missing.json')], 'FILE_NOT_FOUND');
    await fails(['--id', 'patient', 'record', 'list'], 'WRONG_PASSPHRASE', {
      MEDBLOC_PASSPHRASE: 'not the passphrase',
    });
    await fails(['--id', 'patient', 'record', 'get', `0x${'ef'.repeat(32)}`], 'RECORD_NOT_FOUND');
    await fails(['--id', 'patient', 'record', 'get', 'nope'], 'INVALID_RECORD_ID');
    await fails(['--id', 'nobody', 'record', 'list'], 'NO_IDENTITY');
    await fails(['--id', 'patient', 'record', 'list'], 'NODE_UNREACHABLE', {
      MEDBLOC_NODE: 'http://127.0.0.1:9',
    });
    // For scripts, --json makes the one line a JSON object; an invalid resource carries its OperationOutcome.
    for (const [args, code] of [
      [['record', 'add', invalid], 'FHIR_INVALID'],
      [['record', 'add', malformed], 'INVALID_JSON'],
      [['record', 'get', 'nope'], 'INVALID_RECORD_ID'],
    ] as const) {
      const r = await run(['--id', 'patient', '--json', ...args]);
      assert.notEqual(r.code, 0);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      const { error } = JSON.parse(lines[0]!) as {
        error: { code: string; message: string; outcome?: { issue: { expression?: string[] }[] } };
      };
      assert.equal(error.code, code);
      assert.ok(error.message.length > 10);
      if (code === 'FHIR_INVALID')
        assert.deepEqual(error.outcome?.issue[0]?.expression, ['Observation.status']);
    }
    assert.equal(await count(), before);
  });

  test('an oversized upload is refused with a one-line error', async () => {
    const small = await startTestNode({ MEDBLOC_MAX_UPLOAD_BYTES: '65536' });
    try {
      const dir = await tempDir();
      const big = path.join(dir, 'big.bin');
      await writeFile(big, Buffer.alloc(200_000, 1));
      await ok(['--id', 'patient', 'account', 'register'], { MEDBLOC_NODE: small.node.url });
      await fails(['--id', 'patient', 'record', 'add', big], 'UPLOAD_TOO_LARGE', {
        MEDBLOC_NODE: small.node.url,
      });
      const listed = JSON.parse(
        (await ok(['--id', 'patient', '--json', 'record', 'list'], { MEDBLOC_NODE: small.node.url })).stdout,
      ) as unknown[];
      assert.equal(listed.length, 0);
    } finally {
      await small.stop();
    }
  });

  test("the node's disk, database and chain state hold no plaintext and no private key", async () => {
    const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as {
      entry: { resource: Record<string, unknown> }[];
    };
    const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource as {
      name: { family: string; given: string[] }[];
      address?: { line?: string[] }[];
      identifier?: { value: string }[];
    };
    const needles = [
      patient.name[0]!.family,
      patient.name[0]!.given[0]!,
      ...(patient.address?.[0]?.line ?? []),
      ...(patient.identifier ?? []).map((i) => i.value).filter((v) => v.length > 8),
      'resourceType',
      'http://loinc.org',
      ...mnemonics.map((m) => m.split(' ').slice(0, 4).join(' ')),
      ...mnemonics
        .map((m) => identityFromMnemonic(m))
        .flatMap((id) => [Buffer.from(id.encryption.privateKey).toString('hex'), id.signingKey.slice(2)]),
    ].filter((s) => s && s.length >= 5);
    const files = await filesUnder(t.home);
    assert.ok(files.some((f) => f.endsWith('index.sqlite')));
    assert.ok(files.some((f) => f.includes(`${path.sep}blobs${path.sep}`)));
    const haystacks = [
      ...(await fileHaystacks(files)),
      ['chain', await chainText(t.node.rpcUrl)] as [string, string],
    ];
    assertAbsent(needles, haystacks);
  });

  test("demo runs unattended, and what its node stored holds none of the patient's data", {
    timeout: 180_000,
  }, async () => {
    const r = await cli(['demo', '--keep']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Demo complete/);
    const home = /embedded MedBloc node in (\S+)/.exec(r.stdout)?.[1];
    assert.ok(home, 'demo names its data directory');
    const bundleFile = /resources of (\S+\.json)/.exec(r.stdout)?.[1];
    const bundle = JSON.parse(await readFile(path.join(FIXTURES, 'fhir/synthea', bundleFile!), 'utf8')) as {
      entry: {
        resource: {
          resourceType: string;
          name?: { family: string; given: string[] }[];
          address?: { line?: string[] }[];
        };
      }[];
    };
    const p = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource;
    const needles = [
      p.name![0]!.family,
      p.name![0]!.given[0]!,
      ...(p.address?.[0]?.line ?? []),
      'resourceType',
      'http://loinc.org',
    ];
    const files = await filesUnder(home);
    assert.ok(
      files.some((f) => f.endsWith('state.json')),
      'the chain state was saved',
    );
    assertAbsent(needles, await fileHaystacks(files));
    await rm(home, { recursive: true, force: true });
  });
});
