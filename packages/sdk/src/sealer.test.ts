import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEnvelope, generateDataKey, openBytes, symUnwrap } from '@medbloc/core/portable';
import { hexToBytes } from 'viem';
import { sealBatch, sealerStats, WORKER_MIN_RECORDS, warmSealer } from './sealer.ts';

const owner = '0x1111111111111111111111111111111111111111';
const creator = '0x2222222222222222222222222222222222222222';

function batch(n: number) {
  const texts = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ resourceType: 'Observation', id: `o${i}` }),
  );
  const plain = new TextEncoder().encode(texts.join(''));
  let end = 0;
  const ends = texts.map((t) => (end += t.length));
  return {
    texts,
    input: {
      owner,
      creator,
      batchKey: generateDataKey(),
      kekId: 'k',
      plain,
      ends,
      metas: texts.map(() => '{}'),
    },
  } as const;
}

async function opens(
  texts: readonly string[],
  batchKey: Uint8Array,
  out: Awaited<ReturnType<typeof sealBatch>>,
) {
  for (const [i, r] of out.records.entries()) {
    const env = decodeEnvelope(r.envelope);
    const dek = await symUnwrap(batchKey, env.data, hexToBytes(r.recordId));
    const plain = await openBytes(out.pack.subarray(r.offset, r.offset + r.length), dek);
    assert.equal(new TextDecoder().decode(plain), texts[i]);
  }
}

test('small batches are sealed inline; large ones in a worker once it is ready, with the same result', async () => {
  const small = batch(WORKER_MIN_RECORDS - 1);
  const before = sealerStats();
  await opens(small.texts, small.input.batchKey, await sealBatch({ ...small.input }));
  assert.equal(sealerStats().inline, before.inline + 1);
  assert.equal(sealerStats().workers, 0, 'a small batch starts no worker');

  warmSealer();
  assert.ok(sealerStats().workers >= 1);
  for (let i = 0; i < 200 && !sealerStats().ready; i++) await sleep(25);
  assert.ok(sealerStats().ready, 'the worker loaded its code');
  const large = batch(WORKER_MIN_RECORDS * 4);
  const inWorkers = sealerStats().inWorkers;
  const out = await sealBatch({ ...large.input });
  assert.equal(sealerStats().inWorkers, inWorkers + 1);
  await opens(large.texts, large.input.batchKey, out);
  // The caller's input is untouched (copied to the worker, not handed over).
  assert.equal(large.input.plain.byteLength, large.input.ends.at(-1));
});

test('a sealing error in the worker reaches the caller as an error', async () => {
  const { input } = batch(WORKER_MIN_RECORDS);
  warmSealer();
  for (let i = 0; i < 200 && !sealerStats().ready; i++) await sleep(25);
  await assert.rejects(sealBatch({ ...input, ends: [...input.ends.slice(0, -1), input.plain.length + 5] }), {
    name: 'InvalidArgumentError',
    message: /ends outside the plaintext/,
  });
});

test('a process that started the sealing workers and has nothing left to do exits', async () => {
  const { spawn } = await import('node:child_process');
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(`${tmpdir()}/medbloc-sealer-`);
  const script = `${dir}/warm.mjs`;
  const sealer = new URL('./sealer.ts', import.meta.url).href;
  await writeFile(script, `import { warmSealer } from ${JSON.stringify(sealer)};\nwarmSealer();\n`);
  const child = spawn(process.execPath, [script], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const code = await Promise.race([exited, sleep(30_000).then(() => 'still running')]);
  child.kill();
  await rm(dir, { recursive: true, force: true });
  assert.equal(code, 0);
});

test("a sealing worker loads only what sealing needs: neither viem nor core's whole portable entry", async () => {
  const { readFile } = await import('node:fs/promises');
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const require = createRequire(import.meta.url);
  // The package's folder, from its portable entry (its package.json is not an export).
  const coreDir = path.resolve(path.dirname(require.resolve('@medbloc/core/portable')), '..');
  const exportsOf = JSON.parse(await readFile(path.join(coreDir, 'package.json'), 'utf8')).exports as Record<
    string,
    string
  >;
  const packages = new Set<string>();
  const seen = new Set<string>();
  const walk = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = await readFile(file, 'utf8');
    // Runtime imports only: `import type` and `export type` are erased before the worker runs.
    for (const m of source.matchAll(/^(?:import|export) (?!type )[^;]*? from '([^']+)'/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) await walk(path.resolve(path.dirname(file), spec));
      else if (spec.startsWith('@medbloc/core')) {
        const sub = `.${spec.slice('@medbloc/core'.length)}`;
        packages.add(spec);
        await walk(path.join(coreDir, exportsOf[sub === '.' ? '.' : sub]!));
      } else packages.add(spec);
    }
  };
  await walk(fileURLToPath(new URL('./sealer.ts', import.meta.url)));
  assert.ok(seen.size > 5, 'the walk followed the imports');
  assert.ok(packages.has('@medbloc/core/seal-batch'));
  assert.ok(!packages.has('viem'), [...packages].join(', '));
  assert.ok(!packages.has('@medbloc/core/portable') && !packages.has('@medbloc/core'));
});
