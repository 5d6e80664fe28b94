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
