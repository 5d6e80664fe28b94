import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CID } from 'multiformats/cid';
import { blobCid } from './cid.ts';
import { createDiskBlobStore, shardOf } from './disk.ts';
import { BlobDigestMismatchError, BlobTooLargeError } from './errors.ts';
import type { BlobStore } from './port.ts';
import { blobStoreSuite, chunked, referenceCid } from './suite.ts';

const verifyFirstBelow = 1024 * 1024;
const blobPath = (dir: string, cid: CID) => join(dir, 'blobs', shardOf(cid.toString()), cid.toString());

blobStoreSuite('disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medbloc-blobs-'));
  return {
    store: await createDiskBlobStore({ dir, verifyFirstBelow }),
    verifyFirstBelow,
    async tamper(cid, how, other) {
      const file = blobPath(dir, cid);
      if (how === 'flip') {
        const bytes = await readFile(file);
        bytes[bytes.length >> 1]! ^= 0x01;
        await writeFile(file, bytes);
      } else if (how === 'truncate') {
        const bytes = await readFile(file);
        await truncate(file, bytes.length >> 1);
      } else {
        if (other === undefined) throw new Error('tamper swap needs the other CID');
        await copyFile(blobPath(dir, other), file);
      }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('disk blob store', () => {
  let dir: string;
  let store: BlobStore;
  const tmpFiles = () => readdir(join(dir, 'tmp'));
  const listed = async (s: BlobStore) => {
    const out: string[] = [];
    for await (const cid of s.list()) out.push(cid.toString());
    return out.sort();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medbloc-disk-'));
    store = await createDiskBlobStore({ dir });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('stores a blob at blobs/<next-to-last two chars>/<cid>', async () => {
    const bytes = randomBytes(3000);
    const { cid } = await store.put([bytes]);
    const s = cid.toString();
    assert.match(s, /^bafkrei/);
    assert.equal(shardOf(s), s.slice(-3, -1));
    assert.deepEqual(await readFile(join(dir, 'blobs', s.slice(-3, -1), s)), bytes);
  });

  test('a failed put leaves no tmp file behind', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    await assert.rejects(
      store.put(chunked(bytes), { expected: await referenceCid(randomBytes(8)) }),
      BlobDigestMismatchError,
    );
    await assert.rejects(store.put(chunked(bytes), { maxBytes: 1024 * 1024 }), BlobTooLargeError);
    const failing = (async function* () {
      yield randomBytes(3 * 1024 * 1024);
      throw new Error('connection reset');
    })();
    await assert.rejects(store.put(failing), /connection reset/);
    const ctl = new AbortController();
    ctl.abort();
    await assert.rejects(store.put([bytes], { signal: ctl.signal }), { name: 'AbortError' });
    assert.deepEqual(await tmpFiles(), []);
    assert.equal(await store.has(await referenceCid(bytes)), false);
  });

  test('a large put that fails part-way (hashed off thread, partly synced) leaves nothing behind', async () => {
    const big = function* () {
      for (let i = 0; i < 40; i++) yield randomBytes(1024 * 1024);
    };
    await assert.rejects(store.put(big(), { maxBytes: 30 * 1024 * 1024 }), BlobTooLargeError);
    const failing = (async function* () {
      yield* big();
      throw new Error('connection reset');
    })();
    await assert.rejects(store.put(failing), /connection reset/);
    assert.deepEqual(await tmpFiles(), []);
    // The next large put is unaffected.
    const parts = [...big()].flatMap((c) => [c, randomBytes(16)]);
    const { cid } = await store.put(parts);
    assert.ok(cid.equals(await referenceCid(Buffer.concat(parts))));
    assert.equal(await store.verify(cid), true);
    await store.delete(cid);
  });

  test('a tmp file left by a crash mid-write is never listed and is removed at the next open', async () => {
    const bytes = randomBytes(100_000);
    const cid = await referenceCid(bytes);
    // What a process killed mid-put leaves: a partial file in tmp/, even one named like a CID.
    await writeFile(join(dir, 'tmp', 'crashed-put'), bytes.subarray(0, 5000));
    await writeFile(join(dir, 'tmp', cid.toString()), bytes.subarray(0, 5000));
    assert.equal(await store.has(cid), false);
    assert.equal((await listed(store)).includes(cid.toString()), false);

    const reopened = await createDiskBlobStore({ dir });
    assert.deepEqual(await tmpFiles(), []);
    assert.equal(await reopened.has(cid), false);
    assert.deepEqual(await listed(reopened), await listed(store), 'complete blobs survive the reopen');
  });

  test('stray files in the blob tree are not listed', async () => {
    const before = await listed(store);
    const { cid } = await store.put([randomBytes(10)]);
    const shard = join(dir, 'blobs', shardOf(cid.toString()));
    await writeFile(join(shard, 'not-a-cid'), 'x');
    const elsewhere = await referenceCid(randomBytes(10)); // a valid CID name in the wrong shard
    const wrongShard = join(dir, 'blobs', shardOf(elsewhere.toString()) === 'aa' ? 'ab' : 'aa');
    await mkdir(wrongShard, { recursive: true });
    await writeFile(join(wrongShard, elsewhere.toString()), 'x');
    await writeFile(join(dir, 'blobs', 'README'), 'a file where shard directories live');
    assert.deepEqual(await listed(store), [...before, cid.toString()].sort());
  });

  test('concurrent puts of the same content all succeed and leave one good blob', async () => {
    const bytes = randomBytes(4 * 1024 * 1024);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.put(chunked(bytes))));
    const cid = results[0]!.cid;
    for (const r of results) assert.ok(r.cid.equals(cid));
    assert.equal((await listed(store)).filter((c) => c === cid.toString()).length, 1);
    assert.equal(await store.verify(cid), true);
    assert.deepEqual(await tmpFiles(), []);
  });

  test('streams 200 MB in and out in bounded memory', async (t) => {
    const total = 200 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024);
    const want = createHash('sha256');
    let peak = 0;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage.rss());
    };
    const source = (async function* () {
      for (let at = 0, i = 0; at < total; at += chunk.length, i++) {
        chunk.fill(i & 0xff, 0, 8); // vary content while reusing one buffer
        chunk.writeUInt32LE(i, 8);
        want.update(chunk);
        if (i % 256 === 0) sample();
        yield chunk;
      }
    })();
    globalThis.gc?.();
    const start = process.memoryUsage.rss();
    const { cid, size } = await store.put(source);
    assert.equal(size, total);
    assert.ok(cid.equals(blobCid(want.digest())));

    const got = createHash('sha256');
    let read = 0;
    for await (const c of store.get(cid)) {
      got.update(c);
      read += c.length;
      sample();
    }
    assert.equal(read, total);
    assert.ok(cid.equals(blobCid(got.digest())));
    const growth = (peak - start) / 1024 / 1024;
    assert.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MB`);
    t.diagnostic(`RSS growth ${growth.toFixed(1)} MB`);
    await store.delete(cid);
  });
});
