/**
 * Records service — transport-agnostic: plain inputs in, values or NodeErrors out. Stores ciphertext, relays signed
 * anchors (one by one, or many under one Merkle root), lists a caller's records and hands out ciphertext with the
 * caller's key envelope. The node never holds a data key: envelopes and record metadata arrive encrypted.
 */

import { createHash } from 'node:crypto';
import {
  type AnchorFields,
  batchLeafOf,
  buildMerkleTree,
  digestHexToCid,
  Purpose,
  type RecordAuthorisation,
  type RecordKeys,
  type RecordSummary,
  Role,
  recordIdOf,
  ZERO_HASH,
} from '@medbloc/core';
import type { BlobStore } from '@medbloc/storage';
import type { CID } from 'multiformats/cid';
import { type Address, getAddress, type Hex } from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Indexer, ManifestLeaf } from '../chain/indexer.ts';
import type { Db, RecordRow } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';
import { type AnchorTicket, createAnchorOrder } from './anchor-order.ts';
import type { AuditService, SignedAccessRequest } from './audit.ts';
import type { Access, ConsentService } from './consent.ts';
import { checkDeadline } from './signatures.ts';

/** A record's key wrapped for one of the owner's sharing scopes (opaque scope id; AAD = record id). */
export interface ScopeEnvelope {
  scopeId: Hex;
  envelope: string;
  kekId?: string | undefined;
}

/** How a read is asked for: its purpose, and the requester's signed access request (for the audit log). */
export interface ReadOptions {
  purpose: number;
  request?: SignedAccessRequest | undefined;
}

/** The envelope key of a scope reader (a scope is not an account). */
const scopeReader = (scopeId: string) => `scope:${scopeId.toLowerCase()}`;
const receiptRequired = () =>
  new NodeError('RECEIPT_REQUIRED', 'send a signed access request (x-medbloc-access) with every read');
const NO_KEYS = { envelope: null, kekId: null, wrapKeyEnvelope: null, scopeId: null, scopeKeyEnvelope: null };

export interface AnchorInput {
  owner: Address;
  creator: Address;
  digest: Hex;
  keyCommitment: Hex;
  supersedes: Hex;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  /** The owner's key envelope (opaque to the node). */
  envelope: string;
  kekId?: string | undefined;
  /** Record metadata (type, date, file name…) sealed by the client; opaque to the node. */
  encMeta?: string | undefined;
  /** The data key wrapped to the owner's scope key(s) of the record's category, so later grantees can read it. */
  scopes?: ScopeEnvelope[] | undefined;
}

export interface BatchInput {
  creator: Address;
  root: Hex;
  manifest: Hex;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  records: {
    owner: Address;
    digest: Hex;
    keyCommitment: Hex;
    supersedes: Hex;
    envelope: string;
    kekId?: string | undefined;
    encMeta?: string | undefined;
    scopes?: ScopeEnvelope[] | undefined;
  }[];
  wrapKeys: { kekId: string; reader: Address; envelope: string }[];
  /** Per-scope batch keys, HPKE-wrapped to the scope's public key. */
  scopeKeys?: { kekId: string; scopeId: Hex; envelope: string }[] | undefined;
}

/**
 * Refusals after which the same ciphertext is expected back: the chain was unreachable, or only the signature's nonce
 * was wrong (the client signs again and resends).
 */
const KEEPS_UPLOADS = new Set([
  'CHAIN_UNAVAILABLE',
  'RECORD_EXISTS',
  'INTERNAL',
  'NONCE_OUT_OF_ORDER',
  'SIGNATURE_REPLAYED',
]);

export type RecordsService = ReturnType<typeof createRecordsService>;

export function createRecordsService(deps: {
  db: Db;
  chain: Chain;
  indexer: Indexer;
  blobs: BlobStore;
  consent: ConsentService;
  audit: AuditService;
}) {
  const { db, chain, indexer, blobs, consent, audit } = deps;
  const trees = new Map<string, ReturnType<typeof buildMerkleTree>>();
  // A creator's anchors reach the chain in nonce order, however their requests arrive.
  const anchorOrder = createAnchorOrder({
    chainNonce: (creator) => chain.read<bigint>(chain.contracts.records, 'nonces', [creator]),
  });

  /** Runs `fn` with the anchor's place in its creator's nonce order; the place is given up if `fn` never relays. */
  async function inNonceOrder<T>(
    creator: Address,
    input: { nonce: bigint; deadline: bigint },
    fn: (ticket: AnchorTicket) => Promise<T>,
  ) {
    checkDeadline(input.deadline);
    const ticket = await anchorOrder.reserve(creator, input.nonce);
    try {
      return await fn(ticket);
    } finally {
      ticket.cancel();
    }
  }
  const packedSlice = (pack: CID, offset: number, length: number, digest: string) =>
    packedSliceOf(blobs, pack, offset, length, digest);

  async function checkParties(owner: Address, creator: Address) {
    const [registered, certified] = await Promise.all([
      chain.read<boolean>(chain.contracts.accounts, 'isRegistered', [owner]),
      owner === creator ||
        chain.read<boolean>(chain.contracts.accounts, 'isCertified', [creator, Role.provider]),
    ]);
    if (!registered) throw new NodeError('NOT_REGISTERED', `owner ${owner} is not a registered account`);
    if (owner !== creator) {
      // A current delegate (guardian, carer) writes for the patient it acts for; the anchor names it as creator.
      if (!certified && !(await consent.isDelegate(owner, creator))) {
        throw new NodeError(
          'NOT_CERTIFIED',
          `${creator} is neither a currently certified provider nor a delegate of ${owner}, so it cannot write records for ${owner}`,
        );
      }
    }
  }

  function checkSupersedes(owner: Address, supersedes: Hex) {
    if (supersedes === ZERO_HASH) return;
    const prev = db.records.get(supersedes);
    if (!prev || prev.owner !== owner.toLowerCase()) {
      throw new NodeError('SUPERSEDED_UNKNOWN', `record ${supersedes} does not exist for owner ${owner}`);
    }
  }

  function checkScopes(owner: Address, scopes: ScopeEnvelope[] | undefined) {
    for (const sc of scopes ?? []) {
      if (!db.scopes.get(owner.toLowerCase(), sc.scopeId))
        throw new NodeError('SCOPE_NOT_FOUND', `${sc.scopeId} is not a published scope of ${owner}`);
    }
  }

  function putScopes(recordId: string, scopes: ScopeEnvelope[] | undefined) {
    for (const sc of scopes ?? []) {
      db.scopes.tag(recordId, sc.scopeId);
      db.envelopes.put(recordId, scopeReader(sc.scopeId), sc.envelope, sc.kekId);
    }
  }

  async function requireBlob(digest: Hex) {
    const cid = digestHexToCid(digest);
    if (!(await blobs.has(cid))) {
      throw new NodeError(
        'BLOB_NOT_FOUND',
        `no ciphertext ${cid.toString()} has been uploaded; upload it before anchoring`,
      );
    }
  }

  /**
   * A refused write must not leave its ciphertext behind: blobs it uploaded that nothing refers to are deleted
   * (and leave the uploader's quota).
   */
  async function discardUnreferenced(caller: Address, digests: Hex[]) {
    for (const digest of digests) {
      const cid = digestHexToCid(digest);
      const uploaders = db.blobs.uploaders(cid.toString());
      // Only the caller's own, unshared uploads: a refused request can't delete anybody else's ciphertext. (Asked
      // first: the records of a packed batch are no blobs of their own, and whether a digest is referenced anywhere
      // is the dearer question.)
      if (uploaders.length !== 1 || uploaders[0] !== caller.toLowerCase()) continue;
      if (db.blobs.referenced(digest)) continue;
      await blobs.delete(cid).catch(() => undefined);
      db.blobs.forget(cid.toString());
    }
  }

  /** Waits for all of `checks`; rethrows the first (in list order) that failed. */
  async function firstFailure(checks: Promise<unknown>[]) {
    for (const r of await Promise.allSettled(checks)) if (r.status === 'rejected') throw r.reason;
  }

  async function refusing<T>(caller: Address, digests: Hex[], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!KEEPS_UPLOADS.has((err as { code?: string }).code ?? ''))
        await discardUnreferenced(caller, digests);
      throw err;
    }
  }

  async function anchor(caller: Address, input: AnchorInput): Promise<RecordSummary> {
    return refusing(caller, [input.digest], () => anchorChecked(caller, input));
  }

  async function anchorChecked(caller: Address, input: AnchorInput): Promise<RecordSummary> {
    if (caller !== input.creator) throw new NodeError('FORBIDDEN', 'only the creator may submit its anchor');
    const recordId = recordIdOf(input);
    if (db.records.exists(recordId))
      throw new NodeError('RECORD_EXISTS', `record ${recordId} is already anchored`);
    return inNonceOrder(input.creator, input, (ticket) => anchorOrdered(input, recordId, ticket));
  }

  async function anchorOrdered(input: AnchorInput, recordId: Hex, ticket: AnchorTicket) {
    await checkParties(input.owner, input.creator);
    checkSupersedes(input.owner, input.supersedes);
    checkScopes(input.owner, input.scopes);
    await requireBlob(input.digest);
    const receipt = await ticket.relay(async () => {
      // What a reader needs is on the disk before the anchor exists, so an anchored record is always readable.
      await db.txDurable(() => {
        db.envelopes.put(recordId, input.owner.toLowerCase(), input.envelope, input.kekId);
        putScopes(recordId, input.scopes);
        db.records.saveWrite(recordId, {
          encMeta: input.encMeta,
          signature: input.signature,
          nonce: input.nonce.toString(),
          deadline: input.deadline.toString(),
        });
      });
      return chain.relay({
        ...chain.contracts.records,
        functionName: 'anchorBySig',
        args: [
          input.owner,
          input.creator,
          input.digest,
          input.keyCommitment,
          input.supersedes,
          input.deadline,
          input.signature,
        ],
      });
    });
    await indexer.sync(receipt.blockNumber);
    return view(requireRow(recordId));
  }

  async function readBlob(digest: Hex): Promise<Buffer | undefined> {
    const cid = digestHexToCid(digest);
    if (!(await blobs.has(cid))) return undefined;
    const parts: Uint8Array[] = [];
    for await (const chunk of blobs.get(cid)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  async function readManifestDoc(digest: Hex): Promise<Manifest | undefined> {
    const bytes = await readBlob(digest);
    return bytes ? parseManifestDoc(bytes.toString('utf8')) : undefined;
  }

  async function readManifest(digest: Hex): Promise<ManifestLeaf[] | undefined> {
    return (await readManifestDoc(digest))?.leaves;
  }

  /** Checks that each packed record's byte range in the pack hashes to its anchored digest. */
  async function checkPack(pack: Hex, leaves: Manifest['leaves']) {
    const bytes = await readBlob(pack);
    if (!bytes)
      throw new NodeError(
        'BLOB_NOT_FOUND',
        `upload the record pack ${digestHexToCid(pack)} before anchoring`,
      );
    for (const [i, l] of leaves.entries()) {
      const end = l.offset! + l.length!;
      if (end > bytes.length) throw new NodeError('BATCH_MISMATCH', `record ${i} lies outside the pack`);
      const digest = `0x${createHash('sha256').update(bytes.subarray(l.offset!, end)).digest('hex')}`;
      if (digest !== l.digest)
        throw new NodeError('BATCH_MISMATCH', `record ${i}'s bytes in the pack do not match its digest`);
    }
  }

  async function anchorBatch(caller: Address, input: BatchInput) {
    // Read once: the checks use it, and a refused batch's pack is discarded with the rest.
    const reading = readManifestDoc(input.manifest);
    const pack = await reading.then((m) => m?.pack).catch(() => undefined);
    return refusing(
      caller,
      [input.manifest, ...(pack ? [pack] : []), ...input.records.map((r) => r.digest)],
      () => anchorBatchChecked(caller, input, reading),
    );
  }

  async function anchorBatchChecked(
    caller: Address,
    input: BatchInput,
    reading: Promise<Manifest | undefined>,
  ) {
    if (caller !== input.creator) throw new NodeError('FORBIDDEN', 'only the creator may submit its batch');
    return inNonceOrder(input.creator, input, (ticket) => anchorBatchOrdered(input, reading, ticket));
  }

  async function anchorBatchOrdered(
    input: BatchInput,
    reading: Promise<Manifest | undefined>,
    ticket: AnchorTicket,
  ) {
    const doc = await reading;
    if (!doc) throw new NodeError('BLOB_NOT_FOUND', 'upload the batch manifest before anchoring the batch');
    const manifest = doc.leaves;
    if (manifest.length !== input.records.length) {
      throw new NodeError(
        'BATCH_MISMATCH',
        `the manifest lists ${manifest.length} records but ${input.records.length} were sent`,
      );
    }
    const fields: AnchorFields[] = input.records.map((r, i) => {
      const m = manifest[i]!;
      if (
        m.owner.toLowerCase() !== r.owner.toLowerCase() ||
        m.digest !== r.digest ||
        m.keyCommitment !== r.keyCommitment ||
        m.supersedes !== r.supersedes
      ) {
        throw new NodeError('BATCH_MISMATCH', `record ${i} differs from the manifest`);
      }
      return {
        owner: r.owner,
        creator: input.creator,
        digest: r.digest,
        keyCommitment: r.keyCommitment,
        supersedes: r.supersedes,
      };
    });
    const tree = buildMerkleTree(fields.map(batchLeafOf));
    if (tree.root !== input.root)
      throw new NodeError('BATCH_MISMATCH', 'the Merkle root does not match the records');
    if (db.batches.get(input.root)?.status === 'anchored')
      throw new NodeError('RECORD_EXISTS', `batch ${input.root} is already anchored`);
    const owners = [...new Set(fields.map((f) => f.owner))];
    // The chain reads are independent: made together, the first failure in this order is the one reported.
    await firstFailure(owners.map((owner) => checkParties(owner, input.creator)));
    const ids = fields.map((f) => recordIdOf(f));
    const [anchored] = db.records.existing(ids);
    if (anchored) throw new NodeError('RECORD_EXISTS', `record ${anchored} is already anchored`);
    const seen = new Set<string>();
    for (const [i, f] of fields.entries()) {
      if (seen.has(ids[i]!)) throw new NodeError('RECORD_EXISTS', `record ${ids[i]} is already anchored`);
      seen.add(ids[i]!);
      checkSupersedes(f.owner, f.supersedes);
      checkScopes(f.owner, input.records[i]!.scopes);
    }
    for (const k of input.scopeKeys ?? []) {
      if (!owners.some((o) => db.scopes.get(o.toLowerCase(), k.scopeId)))
        throw new NodeError(
          'SCOPE_NOT_FOUND',
          `${k.scopeId} is not a published scope of this batch's owners`,
        );
    }
    if (doc.pack) await checkPack(doc.pack, manifest);
    else for (const digest of new Set(fields.map((f) => f.digest))) await requireBlob(digest);

    const receipt = await ticket.relay(async () => {
      await storePendingBatch(input, doc, ids, fields);
      return relayBatch(input.root);
    });
    await indexer.sync(receipt.blockNumber);
    return {
      root: input.root,
      recordIds: ids,
      txHash: receipt.transactionHash,
      blockNumber: Number(receipt.blockNumber),
    };
  }

  /** Everything a reader of the batch's records needs, on the disk before the anchor exists; the batch is pending. */
  function storePendingBatch(input: BatchInput, doc: Manifest, ids: Hex[], fields: AnchorFields[]) {
    const manifest = doc.leaves;
    return db.txDurable(() => {
      for (const k of input.wrapKeys) db.envelopes.putWrapKey(k.kekId, k.reader.toLowerCase(), k.envelope);
      for (const k of input.scopeKeys ?? [])
        db.envelopes.putWrapKey(k.kekId, scopeReader(k.scopeId), k.envelope);
      // Without a pack each record's ciphertext is a blob of its own, found by its digest.
      for (const [i, r] of input.records.entries()) putScopes(ids[i]!, r.scopes);
      db.batches.insertPending(
        {
          root: input.root,
          creator: input.creator.toLowerCase(),
          count: fields.length,
          manifest: input.manifest,
          signature: input.signature,
          nonce: input.nonce.toString(),
          deadline: input.deadline.toString(),
          pack: doc.pack,
        },
        fields.map((f, i) => {
          const r = input.records[i]!;
          return {
            leaf_index: i,
            record_id: ids[i]!,
            owner: f.owner.toLowerCase(),
            digest: f.digest,
            key_commitment: f.keyCommitment,
            supersedes: f.supersedes,
            ...(doc.pack ? { pack_offset: manifest[i]!.offset!, pack_length: manifest[i]!.length! } : {}),
            envelope: r.envelope,
            kek_id: r.kekId ?? null,
            enc_meta: r.encMeta ?? null,
          };
        }),
      );
    });
  }

  function relayBatch(root: Hex) {
    const b = db.batches.get(root)!;
    return chain.relay({
      ...chain.contracts.records,
      functionName: 'anchorBatchBySig',
      args: [getAddress(b.creator), root, b.count, b.manifest, BigInt(b.deadline!), b.signature],
    });
  }

  /**
   * After a restart: a batch stored but not seen on chain is relayed again while its signature is valid; otherwise it
   * is marked failed (its records were never acknowledged and are never listed).
   */
  async function recoverPending(log: (msg: string) => void = () => {}) {
    await indexer.sync();
    for (const b of db.batches.pending()) {
      if (BigInt(b.deadline ?? '0') <= BigInt(Math.floor(Date.now() / 1000))) {
        db.batches.setStatus(b.root, 'failed');
        continue;
      }
      try {
        const receipt = await relayBatch(b.root as Hex);
        await indexer.sync(receipt.blockNumber);
        log(`recovered pending batch ${b.root} (${b.count} records)`);
      } catch (err) {
        if ((err as NodeError).code === 'RECORD_EXISTS') continue;
        db.batches.setStatus(b.root, 'failed');
        log(`dropped pending batch ${b.root}: ${(err as Error).message}`);
      }
    }
  }

  function contentOf(row: RecordRow) {
    const cid = digestHexToCid(row.digest as Hex);
    const packed = db.packs.get(
      row.digest,
      row.batch_root !== null && row.leaf_index !== null
        ? { root: row.batch_root, index: row.leaf_index }
        : undefined,
    );
    if (!packed) return { cid, stream: blobs.get(cid) };
    return {
      cid,
      stream: packedSlice(digestHexToCid(packed.pack as Hex), packed.offset, packed.length, row.digest),
    };
  }

  function requireRow(recordId: string): RecordRow {
    const row = db.records.get(recordId.toLowerCase());
    if (!row) throw new NodeError('RECORD_NOT_FOUND', `no record ${recordId}`);
    return row;
  }

  function treeOf(root: string) {
    let tree = trees.get(root);
    if (!tree) {
      const leaves = db.batches.leaves(root);
      const b = db.batches.get(root)!;
      tree = buildMerkleTree(
        leaves.map((l) =>
          batchLeafOf({
            owner: getAddress(l.owner),
            creator: getAddress(b.creator),
            digest: l.digest as Hex,
            keyCommitment: l.key_commitment as Hex,
            supersedes: l.supersedes as Hex,
          }),
        ),
      );
      if (trees.size > 64) trees.clear();
      trees.set(root, tree);
    }
    return tree;
  }

  function view(row: RecordRow): RecordSummary {
    let authorisation: RecordAuthorisation = null;
    if (row.batch_root) {
      const b = db.batches.get(row.batch_root)!;
      authorisation = {
        kind: 'batch',
        root: row.batch_root as Hex,
        leafIndex: row.leaf_index!,
        count: b.count,
        manifest: b.manifest as Hex,
        proof: treeOf(row.batch_root).proof(row.leaf_index!),
        nonce: b.nonce,
        deadline: b.deadline,
        signature: b.signature as Hex | null,
      };
    } else if (row.signature) {
      authorisation = {
        kind: 'single',
        nonce: row.nonce!,
        deadline: row.deadline!,
        signature: row.signature as Hex,
      };
    }
    return {
      recordId: row.record_id as Hex,
      owner: getAddress(row.owner),
      creator: getAddress(row.creator),
      cid: digestHexToCid(row.digest as Hex).toString(),
      digest: row.digest as Hex,
      keyCommitment: row.key_commitment as Hex,
      supersedes: row.supersedes as Hex,
      supersededBy: (row.superseded_by as Hex | null) ?? null,
      anchoredAt: row.anchored_at,
      blockNumber: row.block_number,
      txHash: row.tx_hash as Hex,
      encMeta: row.enc_meta,
      scopes: db.scopes.ofRecord(row.record_id) as Hex[],
      authorisation,
    };
  }

  /** The caller's key material for a record, by the way it may read it. */
  function keysFor(caller: Address, row: RecordRow, access: Access): RecordKeys {
    const reader =
      access.via === 'scope' || access.via === 'delegate'
        ? scopeReader(access.scopeId)
        : caller.toLowerCase();
    const env = db.envelopes.get(row.record_id, reader);
    const wrapKey = env?.kek_id ? db.envelopes.getWrapKey(env.kek_id, reader) : undefined;
    const scopeKeyEnvelope =
      access.via === 'scope' ? db.scopes.grantKey(access.scopeId, caller.toLowerCase()) : undefined;
    return {
      access: access.via,
      envelope: env?.envelope ?? null,
      kekId: env?.kek_id ?? null,
      wrapKeyEnvelope: wrapKey ?? null,
      scopeId: access.via === 'scope' || access.via === 'delegate' ? access.scopeId : null,
      scopeKeyEnvelope: scopeKeyEnvelope ?? null,
    };
  }

  /**
   * Decides a read and logs it in the owner's access log, served or refused. A non-owner must send a signed access
   * request; `logServed: false` skips logging a served read whose request is already logged (content after detail).
   */
  async function decide(
    caller: Address,
    row: RecordRow,
    opts: ReadOptions,
    logServed = true,
  ): Promise<Access> {
    const owner = getAddress(row.owner);
    const purpose = opts.request?.purpose ?? opts.purpose;
    const deny = async (err: NodeError, request?: SignedAccessRequest) => {
      await audit.record({
        owner,
        requester: caller,
        record: row.record_id as Hex,
        purpose,
        outcome: 'denied',
        request,
      });
      return err;
    };
    const request = opts.request;
    if (request) {
      try {
        await audit.verifyRequest(caller, request);
        if (request.record.toLowerCase() !== row.record_id)
          throw new NodeError('RECEIPT_INVALID', 'the access request names another record');
      } catch (err) {
        throw await deny(err as NodeError);
      }
    } else if (row.owner !== caller.toLowerCase()) {
      throw await deny(receiptRequired());
    }
    let access: Access;
    try {
      access = await consent.access(caller, row, purpose);
    } catch (err) {
      throw await deny(err as NodeError, request);
    }
    if (request && (logServed || !audit.served(request.signature))) {
      await audit.record({
        owner,
        requester: caller,
        record: row.record_id as Hex,
        purpose,
        outcome: 'granted',
        request,
      });
    }
    return access;
  }

  return {
    anchor,
    anchorBatch,
    /** The record nonce `creator` should sign next: the chain's, or past its anchors still on their way here. */
    nextNonce(creator: Address, chainNonce: bigint): bigint {
      const after = anchorOrder.afterInFlight(creator);
      return after !== undefined && after > chainNonce ? after : chainNonce;
    },
    recoverPending,
    readManifest,
    async list(
      caller: Address,
      owner: Address,
      page: { after?: string | undefined; limit?: number | undefined },
      opts: ReadOptions = { purpose: 1 },
    ) {
      const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
      const [block, id] = page.after ? decodeCursor(page.after) : [-1, ''];
      /** A page of all the owner's records, each with the caller's keys. */
      const ownerPage = (keysOf: (row: RecordRow) => RecordKeys) => {
        const rows = db.records.listByOwner(owner.toLowerCase(), { block, id }, limit);
        const last = rows.at(-1);
        return {
          records: rows.map((row) => ({ ...view(row), ...keysOf(row) })),
          total: db.records.countByOwner(owner.toLowerCase()),
          next: rows.length === limit && last ? encodeCursor(last.block_number, last.record_id) : null,
        };
      };
      if (caller === owner) return ownerPage((row) => keysFor(caller, row, { via: 'owner' }));
      // Another's records: only those a live grant covers, and nothing about the others (not even how many).
      const purpose = opts.request?.purpose ?? opts.purpose;
      const logList = (outcome: 'granted' | 'denied', request?: SignedAccessRequest) =>
        audit.record({ owner, requester: caller, record: ZERO_HASH, purpose, outcome, request });
      let request = opts.request;
      if (request) {
        try {
          await audit.verifyRequest(caller, request);
        } catch (err) {
          request = undefined;
          await logList('denied');
          throw err;
        }
      }
      if (purpose === Purpose.care && (await consent.isDelegate(owner, caller))) {
        // A current delegate lists every record of the patient it acts for, each with the key of one of its scopes.
        if (!request) {
          await logList('denied');
          throw receiptRequired();
        }
        const out = ownerPage((row) => {
          const scopeId = consent.ownerScopeOf(row);
          return scopeId
            ? keysFor(caller, row, { via: 'delegate', scopeId })
            : { ...NO_KEYS, access: 'delegate' };
        });
        await logList('granted', request);
        return out;
      }
      const visible = await consent.visibleTo(caller, owner, purpose);
      if (!visible) {
        await logList('denied', request);
        throw new NodeError('FORBIDDEN', `you hold no live grant to list ${owner}'s records`);
      }
      if (!request) {
        await logList('denied');
        throw receiptRequired();
      }
      const rows = db.records.listVisible(
        owner.toLowerCase(),
        visible.recordIds,
        visible.scopeIds,
        { block, id },
        limit,
      );
      await logList('granted', request);
      const granted = new Set(visible.recordIds);
      const scopes = new Set(visible.scopeIds);
      const last = rows.at(-1);
      return {
        records: rows.map((row) => {
          const scopeId = granted.has(row.record_id)
            ? undefined
            : db.scopes.ofRecord(row.record_id).find((sc) => scopes.has(sc));
          const access: Access = scopeId ? { via: 'scope', scopeId: scopeId as Hex } : { via: 'record' };
          return { ...view(row), ...keysFor(caller, row, access) };
        }),
        next: rows.length === limit && last ? encodeCursor(last.block_number, last.record_id) : null,
      };
    },
    async get(caller: Address, recordId: string, opts: ReadOptions = { purpose: 1 }) {
      const row = requireRow(recordId);
      const access = await decide(caller, row, opts);
      const keys = keysFor(caller, row, access);
      if (!keys.envelope || (access.via === 'scope' && !keys.scopeKeyEnvelope))
        throw new NodeError('ENVELOPE_NOT_FOUND', `there is no key envelope for you on record ${recordId}`);
      return { ...view(row), ...keys };
    },
    async content(caller: Address, recordId: string, opts: ReadOptions = { purpose: 1 }) {
      const row = requireRow(recordId);
      await decide(caller, row, opts, false);
      return contentOf(row);
    },
    /** A read in one round trip: the record with the caller's key envelopes, and its ciphertext. Logged once. */
    async open(caller: Address, recordId: string, opts: ReadOptions = { purpose: 1 }) {
      const row = requireRow(recordId);
      const access = await decide(caller, row, opts);
      const keys = keysFor(caller, row, access);
      if (!keys.envelope || (access.via === 'scope' && !keys.scopeKeyEnvelope))
        throw new NodeError('ENVELOPE_NOT_FOUND', `there is no key envelope for you on record ${recordId}`);
      return { record: { ...view(row), ...keys }, ...contentOf(row) };
    },
    /** The owner (or a delegate) files a record under a scope after the fact: its key wrapped to the scope key. */
    async addScope(caller: Address, recordId: string, scope: ScopeEnvelope) {
      const row = requireRow(recordId);
      const owner = getAddress(row.owner);
      await consent.requireActsFor(owner, caller);
      checkScopes(owner, [scope]);
      db.tx(() => putScopes(row.record_id, [scope]));
      return view(requireRow(recordId));
    },
  };
}

/** A record's bytes inside a pack, verified against the record's own digest before any byte is served. */
async function* packedSliceOf(blobs: BlobStore, pack: CID, offset: number, length: number, digest: string) {
  const parts: Uint8Array[] = [];
  for await (const chunk of blobs.get(pack, { offset, length })) parts.push(chunk);
  const bytes = Buffer.concat(parts);
  if (`0x${createHash('sha256').update(bytes).digest('hex')}` !== digest) {
    throw new NodeError('BLOB_CORRUPTED', `the stored ciphertext of ${digest} does not match its digest`);
  }
  yield bytes;
}

function encodeCursor(block: number, id: string) {
  return Buffer.from(`${block}:${id}`).toString('base64url');
}
function decodeCursor(cursor: string): [number, string] {
  const [b, id] = Buffer.from(cursor, 'base64url').toString().split(':');
  const block = Number(b);
  if (!Number.isSafeInteger(block) || !id) throw new NodeError('BAD_REQUEST', 'invalid "after" cursor');
  return [block, id];
}

/**
 * A batch manifest: `{ version: 1, pack?: digest, leaves: [{ owner, digest, keyCommitment, supersedes,
 * offset?, length? }] }`. With `pack`, the records' ciphertexts were uploaded as one blob (the pack) — one write
 * instead of thousands — and each leaf names its byte range in it.
 */
export interface Manifest {
  pack: Hex | undefined;
  leaves: (ManifestLeaf & { offset?: number; length?: number })[];
}

export function parseManifest(text: string): ManifestLeaf[] {
  return parseManifestDoc(text).leaves;
}

export function parseManifestDoc(text: string): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new NodeError('BATCH_MISMATCH', 'the batch manifest is not JSON');
  }
  const leaves = (doc as { leaves?: unknown })?.leaves;
  if (!Array.isArray(leaves)) throw new NodeError('BATCH_MISMATCH', 'the batch manifest has no leaves');
  const pack = (doc as { pack?: unknown }).pack;
  if (pack !== undefined && (typeof pack !== 'string' || !/^0x[0-9a-f]{64}$/.test(pack))) {
    throw new NodeError('BATCH_MISMATCH', 'the batch manifest names an invalid pack digest');
  }
  return {
    pack: pack as Hex | undefined,
    leaves: leaves.map((l: Record<string, string | number>) => {
      const leaf: ManifestLeaf & { offset?: number; length?: number } = {
        owner: l.owner as Hex,
        digest: l.digest as Hex,
        keyCommitment: l.keyCommitment as Hex,
        supersedes: (l.supersedes ?? ZERO_HASH) as Hex,
      };
      if (pack !== undefined) {
        if (!Number.isSafeInteger(l.offset) || !Number.isSafeInteger(l.length) || Number(l.length) <= 0) {
          throw new NodeError('BATCH_MISMATCH', 'every leaf of a packed batch needs its offset and length');
        }
        leaf.offset = Number(l.offset);
        leaf.length = Number(l.length);
      }
      return leaf;
    }),
  };
}
