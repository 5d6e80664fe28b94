/**
 * A 2 GB file goes in and out through the CLI with constant memory: the CLI's peak RSS stays under 200 MB both
 * ways, and the bytes that come out are the bytes that went in.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { cli, startTestNode, tempDir } from './support/harness.ts';

const SIZE = 2 * 1024 ** 3;
const RSS_LIMIT = 200 * 1024 * 1024;

async function sha256(file: string) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk);
  return h.digest('hex');
}

test('a 2 GB file through the CLI in constant memory', { timeout: 10 * 60_000 }, async () => {
  const t = await startTestNode({ MEDBLOC_FREE_QUOTA_BYTES: String(3 * 1024 ** 3) });
  const dir = await tempDir();
  try {
    const src = path.join(dir, 'genome.bin');
    const block = randomBytes(1 << 20);
    await pipeline(
      (async function* () {
        for (let i = 0; i < SIZE / block.length; i++) {
          block.writeUInt32BE(i, 0);
          yield block;
        }
      })(),
      createWriteStream(src),
    );
    const env = {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: dir,
      MEDBLOC_PASSPHRASE: 'a long enough passphrase',
    };
    assert.equal((await cli(['init'], env)).code, 0);
    assert.equal((await cli(['account', 'register'], env)).code, 0);
    const put = await cli(['--json', 'record', 'add', src], env);
    assert.equal(put.code, 0, put.stderr);
    assert.ok(
      put.peakRss > 0 && put.peakRss < RSS_LIMIT,
      `record add peak RSS ${(put.peakRss / 1048576).toFixed(0)} MB`,
    );
    const { recordId } = JSON.parse(put.stdout) as { recordId: string };
    const out = path.join(dir, 'back.bin');
    const got = await cli(['record', 'get', recordId, '-o', out], env);
    assert.equal(got.code, 0, got.stderr);
    assert.ok(
      got.peakRss > 0 && got.peakRss < RSS_LIMIT,
      `record get peak RSS ${(got.peakRss / 1048576).toFixed(0)} MB`,
    );
    assert.equal(await sha256(out), await sha256(src));
    process.stdout.write(
      `# 2 GB: add peak RSS ${(put.peakRss / 1048576).toFixed(0)} MB, get peak RSS ${(got.peakRss / 1048576).toFixed(0)} MB\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    await t.stop();
  }
});
