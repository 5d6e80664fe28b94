/**
 * Chain indexer: reads the contracts' events into SQLite, block range by block range, and remembers how far it got
 * (the cursor is written in the same transaction as the rows), so a restart resumes exactly where it stopped.
 * Batch anchors are expanded into their records from the leaves this node stored before relaying, or from the
 * batch manifest blob when another node relayed the batch.
 */
import {
  accountRegistryAbi,
  authorityCouncilAbi,
  consentRegistryAbi,
  delegationAbi,
  emergencyAccessAbi,
  peerReviewAbi,
  recordRegistryAbi,
} from '@medbloc/contracts';
import { recordIdOf } from '@medbloc/core';
import { type Hex, parseEventLogs } from 'viem';
import type { Db } from '../db/sqlite.ts';
import { applyCertificationEvent, CERTIFICATION_EVENTS } from './certification-events.ts';
import type { Chain } from './client.ts';

const CURSOR = 'indexer.block';

export interface ManifestSource {
  /** Loads a batch manifest blob by its sha-256 digest; undefined if this node doesn't hold it. */
  manifest(digest: Hex): Promise<ManifestLeaf[] | undefined>;
}
export interface ManifestLeaf {
  owner: Hex;
  digest: Hex;
  keyCommitment: Hex;
  supersedes: Hex;
}

export interface BreakGlassEvent {
  requestId: Hex;
  provider: string;
  patient: string;
  reasonHash: Hex;
  time: number;
  block: number;
}

export type Indexer = ReturnType<typeof createIndexer>;

export function createIndexer(opts: {
  chain: Chain;
  db: Db;
  manifests: ManifestSource;
  onError?: (e: unknown) => void;
  /** Called inside the indexing transaction for each break-glass request seen on chain. */
  onBreakGlass?: (r: BreakGlassEvent) => void;
}) {
  const { chain, db } = opts;
  const start = BigInt(chain.deployment.deployBlock);
  let running: Promise<bigint> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const blockTimes = new Map<bigint, number>();

  const indexed = (): bigint => {
    const v = db.meta.get(CURSOR);
    return v === undefined ? start - 1n : BigInt(v);
  };

  async function timeOf(block: bigint): Promise<number> {
    let t = blockTimes.get(block);
    if (t === undefined) {
      t = Number((await chain.publicClient.getBlock({ blockNumber: block })).timestamp);
      if (blockTimes.size > 1000) blockTimes.clear();
      blockTimes.set(block, t);
    }
    return t;
  }

  async function step(to: bigint): Promise<bigint> {
    let from = indexed() + 1n;
    while (from <= to) {
      const until = from + 1999n < to ? from + 1999n : to;
      const raw = await chain.publicClient.getLogs({
        address: [
          chain.deployment.accountRegistry,
          chain.deployment.recordRegistry,
          chain.deployment.consentRegistry,
          chain.deployment.delegation,
          chain.deployment.emergencyAccess,
          chain.deployment.peerReview,
          chain.deployment.council,
        ],
        fromBlock: from,
        toBlock: until,
      });
      const logs = parseEventLogs({
        abi: [
          ...accountRegistryAbi,
          ...recordRegistryAbi,
          ...consentRegistryAbi,
          ...delegationAbi,
          ...emergencyAccessAbi,
          ...peerReviewAbi,
          ...authorityCouncilAbi,
        ],
        logs: raw,
      });
      // Gather what needs I/O first, then apply everything in one transaction with the cursor.
      const times = new Map<bigint, number>();
      const manifests = new Map<string, ManifestLeaf[] | undefined>();
      for (const log of logs) {
        times.set(log.blockNumber, await timeOf(log.blockNumber));
        if (log.eventName === 'BatchAnchored') {
          const a = log.args as { root: Hex; manifest: Hex };
          if (!db.batches.hasLeaves(a.root)) manifests.set(a.root, await opts.manifests.manifest(a.manifest));
        }
      }
      // Not flushed per pass: all of it comes from the chain (and, for a batch written here, from its leaves, stored
      // and flushed before it was relayed), so a power loss costs only a re-read from the cursor at the next start.
      db.relaxed(() =>
        db.tx(() => {
          for (const log of logs)
            apply(log as unknown as IndexedLog, times.get(log.blockNumber) ?? 0, manifests);
          db.meta.set(CURSOR, until.toString());
        }),
      );
      from = until + 1n;
    }
    return to;
  }

  /** The union of the arguments of every event the indexer reads (each event uses its own subset). */
  interface EventArgs {
    account: Hex;
    encryptionKey: Hex;
    roles: number;
    role: number;
    issuer: Hex;
    credentialHash: Hex;
    expiresAt: bigint;
    recordId: Hex;
    owner: Hex;
    creator: Hex;
    digest: Hex;
    keyCommitment: Hex;
    supersedes: Hex;
    root: Hex;
    count: number;
    manifest: Hex;
    grantee: Hex;
    scope: Hex;
    purpose: number;
    signer: Hex;
    patient: Hex;
    delegate: Hex;
    kind: number;
    requestId: Hex;
    provider: Hex;
    reasonHash: Hex;
  }

  interface IndexedLog {
    eventName: string;
    args: Record<string, unknown>;
    blockNumber: bigint;
    transactionHash: Hex;
  }

  function apply(log: IndexedLog, time: number, manifests: Map<string, ManifestLeaf[] | undefined>) {
    const a = log.args as unknown as EventArgs;
    const block = Number(log.blockNumber);
    if (CERTIFICATION_EVENTS.has(log.eventName)) applyCertificationEvent(db, chain.deployment, log, time);
    switch (log.eventName) {
      case 'AccountRegistered':
        db.accounts.upsert(lower(a.account), a.encryptionKey, Number(a.roles), block);
        break;
      case 'Certified':
        db.accounts.certify(
          lower(a.account),
          Number(a.role),
          lower(a.issuer),
          a.credentialHash,
          Number(a.expiresAt),
        );
        break;
      case 'CertificationRevoked':
        db.accounts.revoke(lower(a.account), Number(a.role));
        break;
      case 'RecordAnchored':
        db.records.insertAnchored({
          recordId: a.recordId,
          owner: lower(a.owner),
          creator: lower(a.creator),
          digest: a.digest,
          keyCommitment: a.keyCommitment,
          supersedes: a.supersedes,
          anchoredAt: time,
          blockNumber: block,
          txHash: log.transactionHash,
        });
        break;
      case 'GrantIssued':
        db.grants.issue({
          owner: lower(a.owner),
          grantee: lower(a.grantee),
          scope: a.scope,
          purpose: Number(a.purpose),
          expires_at: Number(a.expiresAt),
          signer: lower(a.signer),
          block_number: block,
        });
        break;
      case 'GrantRevoked':
        db.grants.revoke({
          owner: lower(a.owner),
          grantee: lower(a.grantee),
          scope: a.scope,
          purpose: Number(a.purpose),
          signer: lower(a.signer),
          block_number: block,
        });
        break;
      case 'DelegateAppointed':
        db.delegates.appoint(lower(a.patient), lower(a.delegate), Number(a.kind), Number(a.expiresAt), block);
        break;
      case 'DelegateRevoked':
        db.delegates.revoke(lower(a.patient), lower(a.delegate), lower(a.signer), block);
        break;
      case 'BreakGlassRequested':
        opts.onBreakGlass?.({
          requestId: a.requestId,
          provider: lower(a.provider),
          patient: lower(a.patient),
          reasonHash: a.reasonHash,
          time,
          block,
        });
        break;
      case 'BatchAnchored': {
        const root = a.root;
        const creator = lower(a.creator);
        db.batches.markAnchored(root, {
          creator,
          count: Number(a.count),
          manifest: a.manifest,
          anchoredAt: time,
          blockNumber: block,
          txHash: log.transactionHash,
        });
        // Written through this node: its leaves are stored, and become records in one statement.
        if (
          db.batches.indexLeaves(root, {
            creator,
            anchoredAt: time,
            blockNumber: block,
            txHash: log.transactionHash,
          }) > 0
        )
          break;
        const leaves = (manifests.get(root) ?? []).map((l, i) => ({
          leaf_index: i,
          record_id: recordIdOf({ owner: l.owner, creator: creator as Hex, digest: l.digest }),
          owner: l.owner.toLowerCase(),
          digest: l.digest,
          keyCommitment: l.keyCommitment,
          supersedes: l.supersedes,
        }));
        for (const l of leaves) {
          db.records.insertAnchored({
            recordId: l.record_id,
            owner: l.owner,
            creator,
            digest: l.digest,
            keyCommitment: l.keyCommitment,
            supersedes: l.supersedes,
            anchoredAt: time,
            blockNumber: block,
            txHash: log.transactionHash,
            batchRoot: root,
            leafIndex: l.leaf_index,
          });
        }
        break;
      }
    }
  }

  /** Indexes up to `block` (default: the chain head). Concurrent calls share one pass. */
  async function sync(block?: bigint): Promise<bigint> {
    const target = block ?? (await chain.publicClient.getBlockNumber());
    while (running) {
      const done = await running.catch(() => -1n);
      if (done >= target) return done;
    }
    if (indexed() >= target) return indexed();
    running = step(target).finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    sync,
    indexedBlock: indexed,
    start(intervalMs: number) {
      const tick = () => {
        sync()
          .catch((e) => opts.onError?.(e))
          .finally(() => {
            if (timer) timer = setTimeout(tick, intervalMs);
          });
      };
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      const t = timer;
      timer = undefined;
      if (t) clearTimeout(t);
      await running?.catch(() => undefined);
    },
  };
}

function lower(v: unknown): string {
  return String(v).toLowerCase();
}
