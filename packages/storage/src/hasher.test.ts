import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createBlobHasher } from './hasher.ts';

const reference = (parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** Feeds `parts` one by one, as a put does, then returns the digest. */
async function digestOf(parts: Uint8Array[], offThreadFrom?: number) {
  const hasher = createBlobHasher(offThreadFrom);
  for (const p of parts) await hasher.update(p);
  return hasher.digest();
}

/** Sealed-stream shape: big ciphertext chunks, each followed by a 16-byte tag. */
const sealedShape = (chunks: number, chunkSize: number) =>
  Array.from({ length: chunks }, () => [randomBytes(chunkSize), randomBytes(16)]).flat();

describe('blob hasher', () => {
  test('equals SHA-256 inline, at the switch point and on the worker thread', async () => {
    const cases: [string, Uint8Array[], number | undefined][] = [
      ['empty', [], 1000],
      ['small, inline', [randomBytes(999)], 1000],
      ['exactly the threshold', [randomBytes(400), randomBytes(600)], 1000],
      ['tags and chunks, off thread', sealedShape(40, 100_000), 1000],
      ['chunks larger than a ring slot', [randomBytes(3 * 1024 * 1024 + 5), randomBytes(16)], 1000],
      ['default threshold', sealedShape(6, 1024 * 1024), undefined],
    ];
    for (const [name, parts, threshold] of cases)
      assert.deepEqual(await digestOf(parts, threshold), reference(parts), name);
  });

  test('concurrent blobs hash independently on the shared worker', async () => {
    const blobs = Array.from({ length: 4 }, (_, i) => sealedShape(10 + i, 200_000 + i));
    const digests = await Promise.all(blobs.map((parts) => digestOf(parts, 1)));
    for (const [i, d] of digests.entries()) assert.deepEqual(d, reference(blobs[i]!), `blob ${i}`);
  });

  test('copies what it is given: a caller may reuse its buffer as soon as update returns', async () => {
    const buffer = Buffer.alloc(300_000);
    const seen: Uint8Array[] = [];
    const hasher = createBlobHasher(1000);
    for (let i = 0; i < 30; i++) {
      buffer.fill(i);
      buffer.writeUInt32BE(i * 7919, 0);
      seen.push(Uint8Array.from(buffer));
      await hasher.update(buffer);
    }
    buffer.fill(0xff);
    assert.deepEqual(await hasher.digest(), reference(seen));
  });

  test('aborting while an update waits for the worker fails that update instead of leaving it pending', {
    timeout: 10_000,
  }, async () => {
    const hasher = createBlobHasher(1);
    // Far more than the ring holds: the update copies what fits and waits for the worker to free slots.
    const waiting = hasher.update(randomBytes(64 * 1024 * 1024));
    assert.ok(waiting instanceof Promise, 'the update has to wait');
    hasher.abort();
    await assert.rejects(waiting);
    const parts = sealedShape(8, 300_000);
    assert.deepEqual(await digestOf(parts, 1), reference(parts), 'the worker still serves');
  });

  test('an aborted blob does not disturb the others', async () => {
    const kept = sealedShape(12, 150_000);
    const aborted = createBlobHasher(1);
    const hasher = createBlobHasher(1);
    for (const [i, p] of kept.entries()) {
      await hasher.update(p);
      if (i < 8) await aborted.update(p);
    }
    aborted.abort();
    assert.deepEqual(await hasher.digest(), reference(kept));
    assert.deepEqual(
      await digestOf(kept.slice(0, 3), 1),
      reference(kept.slice(0, 3)),
      'the worker still serves',
    );
  });
});
