/**
 * Access audit — transport-agnostic. Every read of a patient's data, served or refused, becomes an access receipt:
 * the requester's signed AccessRequest (EIP-712), countersigned by this node with the outcome and the owner's next
 * log sequence number. Receipts are batched into Merkle trees whose roots are anchored on AccessLog every interval
 * (and on shutdown); an owner lists their log with each entry's inclusion proof and checks it against the chain.
 */

import {
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as signBytes,
  verify as verifySignature,
} from 'node:crypto';
import {
  AccessOutcome,
  accessReceiptLeaf,
  accessReceiptTypes,
  buildMerkleTree,
  nodeReceiptKeyMessage,
  recoverDigestSigner,
  typedDigester,
} from '@medbloc/core';
import { type Address, getAddress, type Hex, type LocalAccount, zeroAddress } from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';

/** An access request as the requester signed it (sent with each read). */
export interface SignedAccessRequest {
  requester: Address;
  owner: Address;
  record: Hex;
  purpose: number;
  time: number;
  signature: Hex;
  /** The Ed25519 access key that signed (delegated at sign-in); absent when the account key signed. */
  key?: Hex;
}

/** A key and the signed message by which an account delegated to it, as returned with a log entry. */
interface Delegation {
  key: Hex;
  message: string;
  signature: Hex;
}

/** How far a request's clock may be from the node's, seconds. */
const CLOCK_SKEW = 300;
const MAX_BATCH = 10_000;

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService(deps: {
  db: Db;
  chain: Chain;
  /** The node operator's key: countersigns receipts and anchors their roots. */
  operator: LocalAccount;
  log?: (msg: string) => void;
}) {
  const { db, chain, operator } = deps;
  const domain = chain.domain('accessLog');
  const requestDigest = typedDigester(domain, accessReceiptTypes, 'AccessRequest');
  const receiptDigest = typedDigester(domain, accessReceiptTypes, 'AccessReceipt');
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  /**
   * This process's Ed25519 receipt key, delegated to by the operator account once (a signed message kept in the
   * database, so receipts stay verifiable after the key is gone). A new key per start; the private key never leaves
   * memory.
   */
  let receiptKeyPromise: Promise<{ privateKey: KeyObject; publicKey: Hex }> | undefined;
  function receiptKey() {
    receiptKeyPromise ??= (async () => {
      const pair = generateKeyPairSync('ed25519');
      const jwk = pair.publicKey.export({ format: 'jwk' });
      const publicKey = `0x${Buffer.from(jwk.x!, 'base64url').toString('hex')}` as Hex;
      const message = nodeReceiptKeyMessage(operator.address, publicKey, Math.floor(Date.now() / 1000));
      const signature = await operator.signMessage({ message });
      db.nodeKeys.put({ key: publicKey, node: operator.address.toLowerCase(), message, signature });
      return { privateKey: pair.privateKey, publicKey };
    })();
    return receiptKeyPromise;
  }

  /** Checks a request's signature and freshness; the requester must be the authenticated caller. */
  const recovered = new Map<string, Address>();
  const publicKeys = new Map<string, KeyObject>();
  function publicKeyOf(key: Hex): KeyObject {
    let k = publicKeys.get(key);
    if (!k) {
      k = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.slice(2), 'hex').toString('base64url') },
        format: 'jwk',
      });
      if (publicKeys.size >= 4096) publicKeys.delete(publicKeys.keys().next().value!);
      publicKeys.set(key, k);
    }
    return k;
  }

  async function verifyRequest(caller: Address, r: SignedAccessRequest) {
    if (getAddress(r.requester) !== caller)
      throw new NodeError('RECEIPT_INVALID', 'the access request names another requester');
    if (Math.abs(r.time - Math.floor(Date.now() / 1000)) > CLOCK_SKEW)
      throw new NodeError('RECEIPT_INVALID', 'the access request is not fresh; check your clock');
    if (r.key) {
      const k = db.accessKeys.get(r.key.toLowerCase());
      if (!k || getAddress(k.address) !== caller)
        throw new NodeError('RECEIPT_INVALID', 'the access key was not delegated to by you at sign-in');
      if (r.time > k.expires_at || k.expires_at <= Math.floor(Date.now() / 1000))
        throw new NodeError('RECEIPT_INVALID', 'the access key has expired; sign in again');
      const digest = Buffer.from(requestDigest({ ...r, time: BigInt(r.time) }).slice(2), 'hex');
      if (!verifySignature(null, digest, publicKeyOf(r.key), Buffer.from(r.signature.slice(2), 'hex')))
        throw new NodeError('RECEIPT_INVALID', 'the access request is not signed by your access key');
      return;
    }
    // A read may be two calls (record, then content) carrying the same signed request: recover its signer once.
    const key = `${r.signature}:${r.record}:${r.owner}:${r.purpose}:${r.time}`;
    let signer = recovered.get(key);
    if (!signer) {
      try {
        signer = recoverDigestSigner(requestDigest({ ...r, time: BigInt(r.time) }), r.signature);
      } catch {
        signer = undefined;
      }
      if (signer) {
        if (recovered.size >= 4096) recovered.delete(recovered.keys().next().value!);
        recovered.set(key, signer);
      }
    }
    if (signer !== caller) throw new NodeError('RECEIPT_INVALID', 'the access request is not signed by you');
  }

  /**
   * Logs one access to `owner`'s data. `request` is the requester's signed request when it sent a valid one;
   * otherwise the node records what it saw (requester, record, purpose) without a requester signature.
   */
  async function record(i: {
    owner: Address;
    requester: Address;
    record: Hex;
    purpose: number;
    outcome: 'granted' | 'denied';
    request: SignedAccessRequest | undefined;
  }) {
    const owner = i.owner.toLowerCase();
    const now = Math.floor(Date.now() / 1000);
    const request = i.request ?? {
      requester: i.requester,
      owner: zeroAddress,
      record: i.record,
      purpose: i.purpose,
      time: now,
      signature: null,
    };
    // The sequence number is taken first: a failure later leaves a gap the owner sees, never a silent hole.
    const seq = db.relaxed(() => db.receipts.nextSeq(owner));
    const message = {
      request: {
        requester: getAddress(request.requester),
        owner: getAddress(request.owner),
        record: request.record,
        purpose: request.purpose,
        time: BigInt(request.time),
      },
      owner: getAddress(owner),
      node: operator.address,
      seq: BigInt(seq),
      outcome: AccessOutcome[i.outcome],
      loggedAt: BigInt(now),
    };
    const digest = receiptDigest(message);
    const key = await receiptKey();
    const nodeSignature =
      `0x${signBytes(null, Buffer.from(digest.slice(2), 'hex'), key.privateKey).toString('hex')}` as Hex;
    const leaf = accessReceiptLeaf(digest, request.signature);
    // Committed without a flush of its own, then flushed with the receipts of concurrent reads: nothing is served to
    // another account (nor refused) before its receipt would survive a power loss. The owner's reads of its own
    // records do not wait for the flush: losing one of those to a power cut hides nothing from the owner.
    db.relaxed(() =>
      db.receipts.insert({
        owner,
        seq,
        requester: request.requester.toLowerCase(),
        req_owner: request.owner.toLowerCase(),
        record: request.record,
        purpose: request.purpose,
        req_time: request.time,
        req_signature: request.signature,
        req_key: 'key' in request && request.key ? request.key.toLowerCase() : null,
        outcome: AccessOutcome[i.outcome],
        logged_at: now,
        node: operator.address.toLowerCase(),
        node_signature: nodeSignature,
        node_key: key.publicKey,
        leaf,
      }),
    );
    if (i.requester.toLowerCase() !== owner) await db.durable();
  }

  /** Anchors every pending receipt under one Merkle root on AccessLog. */
  async function flush(): Promise<void> {
    while (flushing) await flushing;
    flushing = (async () => {
      for (;;) {
        const pending = db.receipts.pending(MAX_BATCH);
        if (pending.length === 0) return;
        const tree = buildMerkleTree(pending.map((p) => p.leaf as Hex));
        const receipt = await chain.relay({
          ...chain.contracts.accessLog,
          functionName: 'anchorReceipts',
          args: [tree.root, pending.length],
        });
        db.tx(() =>
          db.receipts.anchor(
            tree.root,
            pending.map((p) => p.id),
            receipt.transactionHash,
            Number(receipt.blockNumber),
          ),
        );
        if (pending.length < MAX_BATCH) return;
      }
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  return {
    verifyRequest,
    record,
    flush,
    /** Whether a request (by its signature) is already in a log as served: a content fetch after its read. */
    served: (signature: Hex) => db.receipts.servedRequest(signature),

    /** The owner's access log, oldest first, each entry with its signatures and (once anchored) its proof. */
    log(caller: Address, owner: Address) {
      if (caller !== owner) throw new NodeError('FORBIDDEN', 'only the owner may read an access log');
      const rows = db.receipts.ofOwner(owner.toLowerCase());
      const trees = new Map<string, ReturnType<typeof buildMerkleTree>>();
      // The delegations behind the entries' keys: few per log, each looked up once.
      const delegationsOf = (
        lookup: (key: string) => { key: string; message: string; signature: string } | undefined,
      ) => {
        const seen = new Map<string, Delegation | null>();
        return (key: string) => {
          if (!seen.has(key)) {
            const k = lookup(key);
            seen.set(
              key,
              k ? { key: k.key as Hex, message: k.message, signature: k.signature as Hex } : null,
            );
          }
          return seen.get(key)!;
        };
      };
      const delegationOf = delegationsOf(db.accessKeys.get);
      const nodeKeyOf = delegationsOf(db.nodeKeys.get);
      const entries = rows.map((r) => {
        let proof: Hex[] | null = null;
        if (r.root !== null && r.leaf_index !== null) {
          let tree = trees.get(r.root);
          if (!tree) {
            tree = buildMerkleTree(db.receipts.leaves(r.root) as Hex[]);
            trees.set(r.root, tree);
          }
          proof = r.leaf_index < tree.leaves.length ? tree.proof(r.leaf_index) : null;
        }
        return {
          seq: r.seq,
          request: {
            requester: getAddress(r.requester),
            owner: getAddress(r.req_owner),
            record: r.record as Hex,
            purpose: r.purpose,
            time: r.req_time,
          },
          requestSignature: (r.req_signature as Hex | null) ?? null,
          requestKey: r.req_key ? delegationOf(r.req_key) : null,
          owner: getAddress(r.owner),
          node: getAddress(r.node),
          outcome: r.outcome === AccessOutcome.granted ? ('granted' as const) : ('denied' as const),
          loggedAt: r.logged_at,
          nodeSignature: r.node_signature as Hex,
          nodeKey: r.node_key ? nodeKeyOf(r.node_key) : null,
          leaf: r.leaf as Hex,
          anchor:
            r.root && proof
              ? { root: r.root as Hex, proof, txHash: r.tx_hash as Hex, blockNumber: r.block_number ?? 0 }
              : null,
        };
      });
      return { owner, head: db.receipts.head(owner.toLowerCase()), entries };
    },

    start(intervalMs: number) {
      const tick = () => {
        flush()
          .catch((e) => deps.log?.(`audit: anchoring failed: ${(e as Error).message}`))
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
      await flush().catch((e) => deps.log?.(`audit: final anchoring failed: ${(e as Error).message}`));
    },
  };
}
