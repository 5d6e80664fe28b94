/**
 * SHA-256 of a blob being written. Small blobs are hashed inline. Once a blob passes {@link OFF_THREAD_FROM} bytes
 * its hashing moves to a worker thread, so that with a second core the hash (the slowest step of a put, ~2 GB/s
 * with SHA-NI) runs beside the sealing and the writes instead of after them. Bytes reach the worker through a small
 * ring of shared memory: one copy per chunk, no allocation, and memory stays constant.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest } from './sha256-worker.ts';

/** Bytes after which a blob is hashed off the calling thread. */
export const OFF_THREAD_FROM = 4 * 1024 * 1024;
const SLOT_SIZE = 1024 * 1024;
const SLOTS = 16;

interface Job {
  free: number[];
  wake?: (() => void) | undefined;
  done?: { resolve: (d: Uint8Array) => void; reject: (e: Error) => void };
  failed?: Error;
}

let worker: Worker | undefined;
const jobs = new Map<number, Job>();
let nextId = 1;

function failAll(err: Error): void {
  for (const job of jobs.values()) {
    job.failed = err;
    job.wake?.();
    job.done?.reject(err);
  }
  jobs.clear();
  worker = undefined;
}

function hashWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./sha256-worker.ts', import.meta.url));
  w.on('message', (m: HashReply) => {
    const job = jobs.get(m.id);
    if (!job) return;
    if ('slot' in m) {
      job.free.push(m.slot);
      const wake = job.wake;
      job.wake = undefined;
      wake?.();
    } else {
      jobs.delete(m.id);
      if (jobs.size === 0) w.unref();
      job.done?.resolve(m.digest);
    }
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', () => failAll(new Error('the hashing worker stopped')));
  w.unref();
  worker = w;
  return w;
}

export interface BlobHasher {
  /** Adds bytes. The caller may reuse `bytes` once this returns (or its promise resolves). */
  update(bytes: Uint8Array): void | Promise<void>;
  digest(): Promise<Uint8Array>;
  /** Drops the hash (after a failed put). */
  abort(): void;
}

/** A SHA-256 that hashes inline until `offThreadFrom` bytes, then on the shared worker thread. */
export function createBlobHasher(offThreadFrom: number = OFF_THREAD_FROM): BlobHasher {
  let inline: Hash | undefined = createHash('sha256');
  // Copies of what was hashed inline, replayed to the worker if the blob turns out to be large.
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let id = 0;
  let ring: Uint8Array | undefined;

  const job = (): Job => {
    const j = jobs.get(id);
    if (!j) throw new Error('the hashing worker stopped');
    if (j.failed) throw j.failed;
    return j;
  };

  // The slot being filled: bytes are packed, so a 16-byte tag and a 1 MiB chunk share slots.
  let slot = -1;
  let fill = 0;
  const post = (): void => {
    hashWorker().postMessage({ id, slot, length: fill } satisfies HashRequest);
    slot = -1;
    fill = 0;
  };
  const slotFreed = (): Promise<void> =>
    new Promise<void>((resolve) => {
      job().wake = resolve;
    });
  /** Copies `bytes` into the ring; returns a promise only when it has to wait for the worker to free a slot. */
  const append = (bytes: Uint8Array): void | Promise<void> => {
    for (let at = 0; at < bytes.byteLength; ) {
      if (slot < 0) {
        const free = job().free;
        if (free.length === 0) return slotFreed().then(() => append(bytes.subarray(at)));
        slot = free.pop() as number;
      }
      const n = Math.min(SLOT_SIZE - fill, bytes.byteLength - at);
      ring!.set(bytes.subarray(at, at + n), slot * SLOT_SIZE + fill);
      fill += n;
      at += n;
      if (fill === SLOT_SIZE) post();
    }
  };

  return {
    update(bytes) {
      if (!inline) return append(bytes);
      inline.update(bytes);
      held.push(new Uint8Array(bytes));
      heldBytes += bytes.byteLength;
      if (heldBytes < offThreadFrom) return;
      // Large: hand over to the worker from the first byte (a hash's state cannot move between threads).
      inline = undefined;
      id = nextId++;
      const shared = new SharedArrayBuffer(SLOTS * SLOT_SIZE);
      ring = new Uint8Array(shared);
      jobs.set(id, { free: Array.from({ length: SLOTS }, (_, i) => i) });
      const w = hashWorker();
      w.ref();
      w.postMessage({ id, ring: shared, slotSize: SLOT_SIZE } satisfies HashRequest);
      const replay = held;
      held = [];
      return (async () => {
        for (const b of replay) await append(b);
      })();
    },

    async digest() {
      if (inline) return new Uint8Array(inline.digest());
      const j = job();
      if (fill > 0) post();
      return new Promise<Uint8Array>((resolve, reject) => {
        j.done = { resolve, reject };
        hashWorker().postMessage({ id, end: true } satisfies HashRequest);
      });
    },

    abort() {
      held = [];
      const j = jobs.get(id);
      if (inline || !j) return;
      jobs.delete(id);
      // An update still waiting for a free slot fails now instead of waiting forever.
      j.failed = new Error('the hash was aborted');
      j.wake?.();
      worker?.postMessage({ id, abort: true } satisfies HashRequest);
      if (jobs.size === 0) worker?.unref();
    },
  };
}
