import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { heldFlush } from './held-flush.ts';
import { type DatabaseOptions, fileFlusher, openDatabase } from './sqlite.ts';

/** Runs `fn` on a database in a fresh directory, closed and removed afterwards. */
async function withDatabase(
  fn: (db: ReturnType<typeof openDatabase>, dir: string) => unknown,
  options: DatabaseOptions = {},
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'medbloc-db-'));
  const db = openDatabase(path.join(dir, 'index.sqlite'), options);
  try {
    await fn(db, dir);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('commits are flushed to disk (synchronous FULL) except inside relaxed, which always restores it', async () => {
  await withDatabase((db) => {
    const level = () => (db.raw.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous;
    assert.equal(
      (db.raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode,
      'wal',
    );
    assert.equal(level(), 2, 'FULL: a commit returns once the WAL is on disk');
    assert.equal(
      db.relaxed(() => level()),
      1,
      'NORMAL inside relaxed',
    );
    assert.equal(level(), 2);
    assert.throws(() =>
      db.relaxed(() => {
        throw new Error('boom');
      }),
    );
    assert.equal(level(), 2, 'FULL again after a failure inside relaxed');
  });
});

test("a batch's records read the same whether its leaves keep their reading material or, as data directories made before, the per-record tables do", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'medbloc-db-'));
  const file = path.join(dir, 'index.sqlite');
  // A database made before the leaves kept envelopes, metadata and pack ranges.
  const old = new DatabaseSync(file);
  old.exec(`CREATE TABLE batches (root TEXT PRIMARY KEY, creator TEXT NOT NULL, count INTEGER NOT NULL,
    manifest TEXT NOT NULL, signature TEXT, nonce TEXT, deadline TEXT, status TEXT NOT NULL, anchored_at INTEGER,
    block_number INTEGER, tx_hash TEXT, created_at INTEGER NOT NULL);
    CREATE TABLE batch_leaves (root TEXT NOT NULL, leaf_index INTEGER NOT NULL, record_id TEXT NOT NULL,
    owner TEXT NOT NULL, digest TEXT NOT NULL, key_commitment TEXT NOT NULL, supersedes TEXT NOT NULL,
    PRIMARY KEY (root, leaf_index));`);
  old.close();
  const db = openDatabase(file);
  const hex = (b: string) => `0x${b.repeat(32)}`;
  const owner = `0x${'0a'.repeat(20)}`;
  const creator = `0x${'0c'.repeat(20)}`;
  const batch = (root: string, pack: string, n: number, inLeaves: boolean) => {
    const leaves = Array.from({ length: n }, (_, i) => ({
      leaf_index: i,
      record_id: hex(`${root[2]}${i}`),
      owner,
      digest: hex(`d${root[2]}${i}`.slice(-2)),
      key_commitment: hex('cc'),
      supersedes: hex('00'),
      ...(inLeaves
        ? {
            pack_offset: i * 100,
            pack_length: 100,
            envelope: `env-${i}`,
            kek_id: 'kek',
            enc_meta: `meta-${i}`,
          }
        : {}),
    }));
    db.tx(() => {
      if (!inLeaves)
        for (const l of leaves) {
          db.raw
            .prepare('INSERT INTO pack_entries (digest, pack, offset, length) VALUES (?, ?, ?, ?)')
            .run(l.digest, pack, l.leaf_index * 100, 100);
          db.envelopes.put(l.record_id, owner, `env-${l.leaf_index}`, 'kek');
          db.records.saveWrite(l.record_id, { encMeta: `meta-${l.leaf_index}` });
        }
      db.batches.insertPending(
        {
          root,
          creator,
          count: n,
          manifest: hex('ee'),
          signature: '0x',
          nonce: '0',
          deadline: '9',
          ...(inLeaves ? { pack } : {}),
        },
        leaves,
      );
      for (const l of leaves)
        db.records.insertAnchored({
          recordId: l.record_id,
          owner,
          creator,
          digest: l.digest,
          keyCommitment: l.key_commitment,
          supersedes: l.supersedes,
          anchoredAt: 1,
          blockNumber: 1,
          txHash: hex('77'),
          batchRoot: root,
          leafIndex: l.leaf_index,
        });
    });
    return leaves;
  };
  try {
    for (const [root, pack, inLeaves] of [
      [hex('1a'), hex('1b'), false],
      [hex('2a'), hex('2b'), true],
    ] as const) {
      for (const l of batch(root, pack, 3, inLeaves)) {
        const row = db.records.get(l.record_id);
        assert.equal(row?.enc_meta, `meta-${l.leaf_index}`);
        assert.deepEqual(
          { ...db.envelopes.get(l.record_id, owner) },
          { envelope: `env-${l.leaf_index}`, kek_id: 'kek' },
        );
        assert.equal(
          db.envelopes.get(l.record_id, creator),
          undefined,
          'only the owner has the leaf envelope',
        );
        assert.deepEqual(
          { ...db.packs.get(l.digest, { root, index: l.leaf_index }) },
          { pack, offset: l.leaf_index * 100, length: 100 },
        );
      }
      assert.ok(db.blobs.referenced(pack), 'the pack is referenced while its batch exists');
    }
    assert.equal(db.batches.leaves(hex('2a')).length, 3);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('durable flushes the WAL once for every commit before it; a commit made during a flush waits for the next one', async () => {
  const { flushes, release, syncFile: held } = heldFlush();
  await withDatabase(
    async (db, dir) => {
      const write = (k: string) => db.relaxed(() => db.meta.set(k, 'v'));
      write('a');
      const first = db.durable();
      write('b');
      // Both arrive while the first flush runs (it may have started before "b"): they share the next one.
      const second = db.durable();
      const third = db.durable();
      assert.equal(flushes.length, 1);
      assert.equal(flushes[0]!.file, path.join(dir, 'index.sqlite-wal'));
      release();
      await first;
      assert.equal(flushes[0]!.done, true);
      let secondDone = false;
      void second.then(() => {
        secondDone = true;
      });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(flushes.length, 2, 'one more flush for the commits made during the first');
      assert.equal(secondDone, false, 'not durable until that flush is done');
      release();
      await Promise.all([second, third]);
      assert.equal(flushes[1]!.done, true);
      assert.equal(flushes.length, 2);
      // Nothing pending: the next call starts a flush of its own at once.
      write('c');
      const fourth = db.durable();
      assert.equal(flushes.length, 3);
      release();
      await fourth;
    },
    { syncFile: held },
  );
});

test('the real flush runs, and a WAL file not there yet is nothing to flush', async () => {
  await withDatabase(async (db, dir) => {
    db.relaxed(() => db.meta.set('k', 'v'));
    await db.durable();
    assert.equal(db.meta.get('k'), 'v');
    await fileFlusher(path.join(dir, 'no-such-file')).flush();
  });
});

test('txDurable commits in one transaction and resolves after the flush; a failure inside rolls everything back', async () => {
  const { flushes, release, syncFile: held } = heldFlush();
  await withDatabase(
    async (db) => {
      let resolved = false;
      const done = db
        .txDurable(() => {
          db.meta.set('a', '1');
          db.meta.set('b', '2');
          return 'out';
        })
        .then((v) => {
          resolved = true;
          return v;
        });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(db.meta.get('b'), '2', 'committed at once');
      assert.equal(resolved, false, 'not acknowledged before the flush');
      release();
      assert.equal(await done, 'out');
      assert.equal(flushes.length, 1);
      assert.equal(db.raw.prepare('PRAGMA synchronous').get()?.synchronous, 2, 'FULL again after it');
      await assert.rejects(
        db.txDurable(() => {
          db.meta.set('c', '3');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(db.meta.get('c'), undefined);
      assert.equal(flushes.length, 1, 'nothing to flush after a rollback');
    },
    { syncFile: held },
  );
});
