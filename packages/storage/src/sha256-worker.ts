/**
 * The worker side of `hasher.ts`: one SHA-256 per job, fed from slots of a ring of shared memory; each slot is
 * handed back once hashed, so the sender reuses it (no allocation or transfer per chunk).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type HashRequest =
  | { id: number; ring: SharedArrayBuffer; slotSize: number }
  | { id: number; slot: number; length: number }
  | { id: number; end: true }
  | { id: number; abort: true };
export type HashReply = { id: number } & ({ slot: number } | { digest: Uint8Array });

const jobs = new Map<number, { hash: Hash; ring: SharedArrayBuffer; slotSize: number }>();
const port = parentPort;
if (!port) throw new Error('sha256-worker runs as a worker thread');

port.on('message', (m: HashRequest) => {
  if ('ring' in m) {
    jobs.set(m.id, { hash: createHash('sha256'), ring: m.ring, slotSize: m.slotSize });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if ('slot' in m) {
    job.hash.update(new Uint8Array(job.ring, m.slot * job.slotSize, m.length));
    port.postMessage({ id: m.id, slot: m.slot } satisfies HashReply);
    return;
  }
  jobs.delete(m.id);
  if ('end' in m)
    port.postMessage({ id: m.id, digest: Uint8Array.from(job.hash.digest()) } satisfies HashReply);
});
