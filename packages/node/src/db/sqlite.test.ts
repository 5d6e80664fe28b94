import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from './sqlite.ts';

test('commits are flushed to disk (synchronous FULL) except inside relaxed, which always restores it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'medbloc-db-'));
  const db = openDatabase(path.join(dir, 'index.sqlite'));
  const level = () => (db.raw.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous;
  try {
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
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
