/**
 * Throughput of the disk adapter: `node bench/storage.ts [MiB=1024] [chunkKiB=64] [dir]`.
 * Measures put (stream → sha-256 → tmp file → fsync → rename) and verified get, against raw baselines
 * (sha-256 alone, and write+fsync alone) so a regression can be told apart from a slow disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskBlobStore } from '@medbloc/storage';

const mib = Number(process.argv[2] ?? 1024);
const chunkKiB = Number(process.argv[3] ?? 64);
const dir = await mkdtemp(join(process.argv[4] ?? tmpdir(), 'medbloc-bench-'));
const chunk = randomBytes(chunkKiB * 1024);
const count = Math.ceil((mib * 1024 * 1024) / chunk.length);
const total = count * chunk.length;

async function* source() {
  for (let i = 0; i < count; i++) {
    chunk.writeUInt32LE(i, 0); // distinct content per run position, one reused buffer
    yield chunk;
  }
}

const rate = (ms: number) => `${(((total / 1024 / 1024) * 1000) / ms).toFixed(0)} MB/s`;
/** Runs `f` three times (the disk's write-back makes single runs noisy) and prints the median and best. */
const time = async (label: string, f: () => Promise<unknown>) => {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await f();
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(36)} median ${rate(runs[1]!).padStart(10)}   best ${rate(runs[0]!).padStart(10)}`,
  );
};

try {
  console.log(`${mib} MiB in ${chunkKiB} KiB chunks, dir ${dir}`);
  await time('baseline: sha-256 only', async () => {
    const h = createHash('sha256');
    for await (const c of source()) h.update(c);
    h.digest();
  });
  await time('baseline: write + fsync only', async () => {
    const fh = await open(join(dir, 'raw'), 'w');
    for await (const c of source()) await fh.write(c);
    await fh.sync();
    await fh.close();
    await rm(join(dir, 'raw'));
  });
  const store = await createDiskBlobStore({ dir });
  let cid: Awaited<ReturnType<typeof store.put>>['cid'] | undefined;
  await time('put (hash + write + fsync + rename)', async () => {
    if (cid !== undefined) await store.delete(cid);
    cid = (await store.put(source())).cid;
  });
  await time('get (verified, streamed)', async () => {
    for await (const _ of store.get(cid!)) {
      // drain
    }
  });
  await time('verify', () => store.verify(cid!));
} finally {
  await rm(dir, { recursive: true, force: true });
}
