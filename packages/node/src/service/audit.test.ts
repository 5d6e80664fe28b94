import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { domainFor } from '@medbloc/core';
import { privateKeyToAccount } from 'viem/accounts';
import type { Chain } from '../chain/client.ts';
import { heldFlush } from '../db/held-flush.ts';
import { openDatabase } from '../db/sqlite.ts';
import { createAuditService } from './audit.ts';

test("another account's read is answered only once its receipt is on the disk; concurrent reads share a flush", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'medbloc-audit-'));
  const { flushes, release, syncFile } = heldFlush();
  const db = openDatabase(path.join(dir, 'index.sqlite'), { syncFile });
  // The service signs receipts in the AccessLog's EIP-712 domain; nothing else of the chain is used to log a read.
  const chain = { domain: () => domainFor(31337, `0x${'ab'.repeat(20)}`) } as unknown as Chain;
  const operator = privateKeyToAccount(`0x${'11'.repeat(32)}`);
  const audit = createAuditService({ db, chain, operator });
  const owner = privateKeyToAccount(`0x${'22'.repeat(32)}`).address;
  const reader = privateKeyToAccount(`0x${'33'.repeat(32)}`).address;
  const read = (i: number) =>
    audit.record({
      owner,
      requester: reader,
      record: `0x${i.toString(16).padStart(64, '0')}`,
      purpose: 1,
      outcome: 'denied',
      request: undefined,
    });
  try {
    let answered = 0;
    const reads = Array.from({ length: 20 }, (_, i) => read(i).then(() => answered++));
    for (let i = 0; i < 100 && flushes.length === 0 && answered < 20; i++)
      await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered, 0, 'no read answered while its receipt is not flushed');
    assert.equal(flushes.length, 1);
    assert.equal(db.receipts.ofOwner(owner.toLowerCase()).length, 20, 'every receipt committed');
    while (answered < 20) {
      release();
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(reads);
    assert.ok(flushes.length <= 2, `20 concurrent reads took ${flushes.length} flushes`);
    assert.ok(flushes.every((f) => f.done));
    assert.deepEqual(
      db.receipts.ofOwner(owner.toLowerCase()).map((r) => r.seq),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    // The owner's own reads are logged alike but not held up by a flush (none is released from here on).
    const flushesBefore = flushes.length;
    const own = audit.record({
      owner,
      requester: owner,
      record: `0x${'ff'.repeat(32)}`,
      purpose: 1,
      outcome: 'granted',
      request: undefined,
    });
    const settled = await Promise.race([
      own.then(() => true),
      new Promise((r) => setTimeout(r, 2000, false)),
    ]);
    assert.equal(settled, true, "the owner's own read waited for a flush");
    assert.equal(flushes.length, flushesBefore);
    assert.equal(db.receipts.ofOwner(owner.toLowerCase()).length, 21);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
