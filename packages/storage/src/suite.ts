/**
 * The contract of `BlobStore`, written once and run against every adapter (memory, disk, and later IPFS).
 * An adapter's test file supplies a factory for a fresh, empty store plus a way to damage stored bytes.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import {
  BlobCorruptedError,
  BlobDigestMismatchError,
  BlobNotFoundError,
  type BlobStoreError,
  BlobTooLargeError,
} from './errors.ts';
import type { BlobStore } from './port.ts';

export type Tamper = (cid: CID, how: 'flip' | 'truncate' | 'swap', other?: CID) => Promise<void>;

export interface BlobStoreHarness {
  store: BlobStore;
  /** Damages stored bytes behind the store's back: flip one byte, cut the blob short, or put `other`'s bytes under `cid`. */
  tamper: Tamper;
  cleanup(): Promise<void>;
  /** The store's `verifyFirstBelow`, when set; lets the suite check on which side of it corruption surfaces. */
  verifyFirstBelow?: number;
}

/** The reference CID, computed independently with multiformats over the whole bytes. */
export async function referenceCid(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes));
}

/** Splits `bytes` into chunks of irregular sizes, as a network stream would deliver them. */
export function* chunked(bytes: Uint8Array, sizes: readonly number[] = [1, 7_000, 65_536, 300_001]) {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/** Drains a blob read; `chunks` counts how many pieces were delivered before the end or the error. */
export async function collect(
  source: AsyncIterable<Uint8Array>,
): Promise<{ bytes: Uint8Array; chunks: number; error?: unknown }> {
  const parts: Uint8Array[] = [];
  let error: unknown;
  try {
    for await (const c of source) parts.push(c);
  } catch (err) {
    error = err;
  }
  const bytes = Buffer.concat(parts);
  return error === undefined ? { bytes, chunks: parts.length } : { bytes, chunks: parts.length, error };
}

async function readAll(store: BlobStore, cid: CID, opts?: { offset?: number; length?: number }) {
  const r = await collect(store.get(cid, opts));
  if (r.error !== undefined) throw r.error;
  return r.bytes;
}

async function listed(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const cid of store.list()) out.push(cid.toString());
  return out.sort();
}

function isError(ctor: new (...args: never[]) => BlobStoreError, code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ctor, `expected ${ctor.name}, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal((ctor as unknown as { code: string }).code, code, 'the class carries its code statically');
    assert.equal(typeof err.shortMessage, 'string');
    return true;
  };
}

const MiB = 1024 * 1024;

export function blobStoreSuite(name: string, make: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let h: BlobStoreHarness;
    let store: BlobStore;
    // A fresh store per group keeps assertions about `list` exact.
    const fresh = async () => {
      if (h !== undefined) await h.cleanup();
      h = await make();
      store = h.store;
    };
    before(fresh);
    after(() => h.cleanup());

    describe('put and get', () => {
      for (const [label, size] of [
        ['empty', 0],
        ['1 byte', 1],
        ['multi-chunk 5 MiB', 5 * MiB + 3],
      ] as const) {
        test(`round-trips a ${label} blob under its reference CID`, async () => {
          const bytes = randomBytes(size);
          const { cid, size: stored } = await store.put(chunked(bytes));
          assert.equal(stored, size);
          assert.ok(cid.equals(await referenceCid(bytes)), `${cid} is the CID of the whole bytes`);
          assert.equal(cid.version, 1);
          assert.equal(cid.code, 0x55);
          assert.deepEqual(await readAll(store, cid), bytes);
          assert.deepEqual(await store.stat(cid), { size });
          assert.equal(await store.has(cid), true);
          assert.equal(await store.verify(cid), true);
        });
      }

      test('accepts an async source', async () => {
        const bytes = randomBytes(100_000);
        const source = (async function* () {
          yield* chunked(bytes);
        })();
        const { cid } = await store.put(source);
        assert.deepEqual(await readAll(store, cid), bytes);
      });

      test('is idempotent: the same bytes twice give one blob', async () => {
        await fresh();
        const bytes = randomBytes(10_000);
        const a = await store.put([bytes]);
        const b = await store.put(chunked(bytes));
        assert.ok(a.cid.equals(b.cid));
        assert.deepEqual(await listed(store), [a.cid.toString()]);
        assert.deepEqual(await readAll(store, a.cid), bytes);
      });

      test('stored bytes are not aliased by the caller’s buffers', async () => {
        const bytes = randomBytes(1000);
        const input = Buffer.from(bytes); // a Buffer: its slice() is a view, a classic aliasing trap
        const { cid } = await store.put([input]);
        input.fill(0);
        const first = await readAll(store, cid);
        first.fill(0);
        assert.deepEqual(await readAll(store, cid), bytes);
      });

      test('a producer may reuse one buffer for every chunk', async () => {
        const whole = randomBytes(64 * 1024 + 5);
        const buf = Buffer.alloc(4096);
        const reusing = (async function* () {
          for (let at = 0; at < whole.length; at += buf.length) {
            const n = whole.copy(buf, 0, at, at + buf.length);
            yield buf.subarray(0, n);
          }
        })();
        const { cid } = await store.put(reusing);
        assert.ok(cid.equals(await referenceCid(whole)));
        assert.deepEqual(await readAll(store, cid), whole);
      });

      test('accepts a matching `expected` CID', async () => {
        const bytes = randomBytes(4096);
        const expected = await referenceCid(bytes);
        const { cid } = await store.put([bytes], { expected });
        assert.ok(cid.equals(expected));
      });
    });

    describe('put rejections keep nothing', () => {
      before(fresh);

      test('an `expected` CID that differs → BlobDigestMismatchError', async () => {
        const bytes = randomBytes(4096);
        const expected = await referenceCid(randomBytes(4096));
        await assert.rejects(
          store.put(chunked(bytes), { expected }),
          isError(BlobDigestMismatchError, 'BLOB_DIGEST_MISMATCH'),
        );
        assert.equal(await store.has(await referenceCid(bytes)), false);
        assert.equal(await store.has(expected), false);
        assert.deepEqual(await listed(store), []);
      });

      test('more than `maxBytes` → BlobTooLargeError, and the source is not drained', async () => {
        let pulled = 0;
        const endless = (function* () {
          for (;;) {
            pulled++;
            yield new Uint8Array(1000).fill(pulled & 0xff);
          }
        })();
        await assert.rejects(
          store.put(endless, { maxBytes: 2500 }),
          isError(BlobTooLargeError, 'BLOB_TOO_LARGE'),
        );
        assert.equal(pulled, 3, 'stops at the chunk that crosses the limit');
        assert.deepEqual(await listed(store), []);
      });

      test('exactly `maxBytes` is accepted', async () => {
        const bytes = randomBytes(2500);
        const { size, cid } = await store.put(chunked(bytes, [1000]), { maxBytes: 2500 });
        assert.equal(size, 2500);
        await store.delete(cid);
      });

      test('an abort mid-stream rejects with the reason', async () => {
        const ctl = new AbortController();
        const reason = new Error('client went away');
        const source = (async function* () {
          yield randomBytes(1000);
          ctl.abort(reason);
          yield randomBytes(1000);
          yield randomBytes(1000);
        })();
        await assert.rejects(store.put(source, { signal: ctl.signal }), (err) => err === reason);
        assert.deepEqual(await listed(store), []);
      });

      test('a failing source rejects with its error', async () => {
        const boom = new Error('socket reset');
        const source = (async function* () {
          yield randomBytes(1000);
          throw boom;
        })();
        await assert.rejects(store.put(source), (err) => err === boom);
        assert.deepEqual(await listed(store), []);
      });

      test('a negative maxBytes is a RangeError', async () => {
        await assert.rejects(store.put([new Uint8Array(1)], { maxBytes: -1 }), RangeError);
      });
    });

    describe('unknown blobs', () => {
      test('get → BlobNotFoundError; stat, has, delete are quiet; verify throws', async () => {
        const cid = await referenceCid(randomBytes(32));
        const r = await collect(store.get(cid));
        assert.equal(r.chunks, 0);
        isError(BlobNotFoundError, 'BLOB_NOT_FOUND')(r.error);
        assert.equal(await store.stat(cid), undefined);
        assert.equal(await store.has(cid), false);
        await store.delete(cid);
        await assert.rejects(store.verify(cid), BlobNotFoundError);
      });

      test('a CID that is not raw/sha2-256 is never found', async () => {
        const bytes = randomBytes(64);
        const { cid } = await store.put([bytes]);
        const dagCbor = CID.createV1(0x71, cid.multihash);
        assert.equal(await store.has(dagCbor), false);
        await assert.rejects(
          collect(store.get(dagCbor)).then((r) => Promise.reject(r.error)),
          BlobNotFoundError,
        );
      });
    });

    describe('range reads', () => {
      for (const [label, size] of [
        ['small', 10_000],
        ['large', 3 * MiB + 17],
      ] as const) {
        test(`serve the requested bytes of a ${label} blob, clamped to its end`, async () => {
          const bytes = randomBytes(size);
          const { cid } = await store.put(chunked(bytes));
          const cases: Array<[{ offset?: number; length?: number }, Uint8Array]> = [
            [{ offset: 0, length: 1 }, bytes.subarray(0, 1)],
            [{ offset: 1234, length: 5000 }, bytes.subarray(1234, 6234)],
            [{ offset: size - 10 }, bytes.subarray(size - 10)],
            [{ length: 100 }, bytes.subarray(0, 100)],
            [{ offset: size - 5, length: 100 }, bytes.subarray(size - 5)],
            [{ offset: size + 5, length: 10 }, new Uint8Array(0)],
            [{ offset: 10, length: 0 }, new Uint8Array(0)],
            [{ offset: 0, length: size }, bytes],
          ];
          for (const [range, want] of cases) {
            assert.deepEqual(await readAll(store, cid, range), Buffer.from(want), JSON.stringify(range));
          }
        });
      }

      test('reject negative or fractional bounds', async () => {
        const { cid } = await store.put([randomBytes(10)]);
        await assert.rejects(readAll(store, cid, { offset: -1 }), RangeError);
        await assert.rejects(readAll(store, cid, { length: 1.5 }), RangeError);
      });
    });

    describe('corruption is detected', () => {
      const corrupted = isError(BlobCorruptedError, 'BLOB_CORRUPTED');
      for (const how of ['flip', 'truncate', 'swap'] as const) {
        // 'large' streams, and is hashed off the calling thread (past the hasher's 4 MiB switch).
        for (const [label, size] of [
          ['small', 50_000],
          ['large', 6 * MiB],
        ] as const) {
          test(`${how} on a ${label} blob: get throws BlobCorruptedError, verify is false`, async () => {
            const bytes = randomBytes(size);
            const { cid } = await store.put(chunked(bytes));
            const { cid: other } = await store.put([randomBytes(size)]);
            await h.tamper(cid, how, other);

            const r = await collect(store.get(cid));
            corrupted(r.error);
            assert.equal((r.error as BlobCorruptedError).cid, cid.toString());
            if (h.verifyFirstBelow === undefined || size <= h.verifyFirstBelow) {
              assert.equal(r.chunks, 0, 'a small corrupted blob yields nothing at all');
            } else {
              assert.ok(r.chunks > 0, 'a large blob streams and fails at the end');
            }
            assert.equal(await store.verify(cid), false);
            assert.equal(await store.verify(other), true, 'the other blob is untouched');
          });
        }
      }

      test('a range of a small corrupted blob is refused too', async () => {
        const { cid } = await store.put([randomBytes(5000)]);
        await h.tamper(cid, 'flip');
        const r = await collect(store.get(cid, { offset: 10, length: 10 }));
        corrupted(r.error);
        assert.equal(r.chunks, 0);
      });

      test('putting the good bytes again repairs a corrupted blob', async () => {
        const bytes = randomBytes(20_000);
        const { cid } = await store.put([bytes]);
        await h.tamper(cid, 'flip');
        assert.equal(await store.verify(cid), false);
        await store.put([bytes]);
        assert.equal(await store.verify(cid), true);
        assert.deepEqual(await readAll(store, cid), bytes);
      });
    });

    describe('list and delete', () => {
      before(fresh);

      test('list yields every stored CID once; delete removes exactly one', async () => {
        const cids = await Promise.all(
          [1, 2, 3].map(async (n) => (await store.put([randomBytes(n * 100)])).cid),
        );
        assert.deepEqual(await listed(store), cids.map(String).sort());
        await store.delete(cids[1]!);
        assert.deepEqual(await listed(store), [cids[0]!, cids[2]!].map(String).sort());
        assert.equal(await store.has(cids[1]!), false);
        assert.equal(await store.has(cids[0]!), true);
        const r = await collect(store.get(cids[1]!));
        assert.ok(r.error instanceof BlobNotFoundError);
      });
    });
  });
}
