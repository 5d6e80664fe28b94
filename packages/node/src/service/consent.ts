/**
 * Consent service — transport-agnostic. Relays the patient's signed grants and revocations (ConsentRegistry), keeps
 * the key material that follows consent (a record's data key wrapped for its grantee; a category scope's private key
 * wrapped for its grantee; the patient's signed scope public keys), and decides every read of another's record:
 * the owner, or a live on-chain grant of that record or of one of its scopes, for the requested purpose, to an
 * account currently certified for that purpose. The chain is asked at read time, so expiry follows chain time.
 */
import { Purpose, Role, scopeKeyTypes } from '@medbloc/core';
import { type Address, getAddress, type Hex, recoverTypedDataAddress } from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Indexer } from '../chain/indexer.ts';
import type { Db, GrantRow, RecordRow } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';
import { checkSignatureWindow } from './signatures.ts';

export const CATEGORIES = ['labs', 'imaging', 'medications', 'notes', 'genomics', 'other'] as const;

export interface GrantInput {
  owner: Address;
  grantee: Address;
  scope: Hex;
  purpose: number;
  expiresAt: bigint;
  signer: Address;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  /** Record grants: the record's data key, HPKE-wrapped to the grantee (AAD = record id). */
  envelope?: string | undefined;
  /** Category grants: the scope's private key, HPKE-wrapped to the grantee (AAD = scope id). */
  scopeKeyEnvelope?: string | undefined;
}

export interface RevokeInput {
  owner: Address;
  grantee: Address;
  scope: Hex;
  purpose: number;
  signer: Address;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

export interface ScopeKeyInput {
  owner: Address;
  category: string;
  epoch: number;
  scopeId: Hex;
  publicKey: Hex;
  signer: Address;
  signature: Hex;
}

/** How a caller may read a record: as its owner, through a grant of the record, or of one of its scopes. */
export type Access =
  | { via: 'owner' }
  | { via: 'record' }
  | { via: 'scope'; scopeId: Hex }
  | { via: 'delegate'; scopeId: Hex };

export type ConsentService = ReturnType<typeof createConsentService>;

export function createConsentService(deps: { db: Db; chain: Chain; indexer: Indexer }) {
  const { db, chain, indexer } = deps;
  const consent = chain.contracts.consent;
  const checkWindow = (key: readonly unknown[], nonce: bigint, deadline: bigint) =>
    checkSignatureWindow({
      nonce,
      deadline,
      whose: 'the grant',
      current: () => chain.read<bigint>(consent, 'grantNonce', key),
    });

  async function isDelegate(patient: Address, account: Address): Promise<boolean> {
    return chain.read<boolean>(chain.contracts.delegation, 'isDelegate', [patient, account]);
  }

  /** The signer acts for the owner: it is the owner or one of the owner's current delegates. */
  async function requireActsFor(owner: Address, signer: Address) {
    if (owner === signer || (await isDelegate(owner, signer))) return;
    throw new NodeError('FORBIDDEN', `${signer} neither is nor acts for ${owner}`);
  }

  /**
   * A current delegate of the owner reads the owner's records for care without a grant or a certification (a parent
   * is not a provider): through the record's scope envelope, which it opens with the owner's keyring. `unfiled` when
   * the caller is a delegate but the record is filed under none of the owner's scopes (the owner's client files every
   * record when it appoints a delegate, so this is a record from before a failed filing).
   */
  async function delegateAccess(
    caller: Address,
    row: RecordRow,
    purpose: number,
  ): Promise<Access | 'unfiled' | undefined> {
    if (purpose !== Purpose.care || !(await isDelegate(getAddress(row.owner), caller))) return undefined;
    const scopeId = ownerScopeOf(row);
    return scopeId ? { via: 'delegate', scopeId } : 'unfiled';
  }

  /** One of the owner's own scopes the record is filed under (its envelope opens with the owner's keyring). */
  function ownerScopeOf(row: RecordRow): Hex | undefined {
    return db.scopes.ofRecord(row.record_id).find((s) => db.scopes.get(row.owner, s)) as Hex | undefined;
  }

  function checkPurpose(purpose: number) {
    if (purpose !== Purpose.care && purpose !== Purpose.research)
      throw new NodeError('INVALID_BODY', 'purpose must be care (1) or research (2)');
  }

  async function relay(functionName: string, args: readonly unknown[]) {
    const receipt = await chain.relay({ ...consent, functionName, args });
    await indexer.sync(receipt.blockNumber);
    return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber) };
  }

  async function chainTime(): Promise<number> {
    return Number((await chain.publicClient.getBlock()).timestamp);
  }

  function view(g: GrantRow, now: number) {
    const scopeKey = db.scopes.get(g.owner, g.scope);
    return {
      owner: getAddress(g.owner),
      grantee: getAddress(g.grantee),
      scope: g.scope as Hex,
      kind: scopeKey ? ('category' as const) : ('record' as const),
      purpose: g.purpose === Purpose.research ? ('research' as const) : ('care' as const),
      expiresAt: g.expires_at,
      revoked: g.revoked === 1,
      live: g.revoked === 0 && (g.expires_at === 0 || now < g.expires_at),
      signer: getAddress(g.signer),
      blockNumber: g.block_number,
    };
  }

  const blockTimes = new Map<number, number>();
  /** When a block was made (chain time, seconds); blocks are immutable, so their times are kept. */
  async function blockTime(block: number): Promise<number> {
    let t = blockTimes.get(block);
    if (t === undefined) {
      t = Number((await chain.publicClient.getBlock({ blockNumber: BigInt(block) })).timestamp);
      if (blockTimes.size > 10_000) blockTimes.clear();
      blockTimes.set(block, t);
    }
    return t;
  }

  async function certifiedFor(caller: Address, purpose: number) {
    const role = purpose === Purpose.research ? Role.researcher : Role.provider;
    return chain.read<boolean>(chain.contracts.accounts, 'isCertified', [caller, role]);
  }

  async function isGranted(owner: Address, grantee: Address, scope: string, purpose: number) {
    return chain.read<boolean>(consent, 'isGranted', [owner, grantee, scope, purpose]);
  }

  return {
    async publishScopeKey(caller: Address, i: ScopeKeyInput) {
      if (caller !== i.signer) throw new NodeError('FORBIDDEN', 'only the signer may publish its scope key');
      if (!(CATEGORIES as readonly string[]).includes(i.category))
        throw new NodeError('INVALID_BODY', `category must be one of ${CATEGORIES.join(', ')}`);
      await requireActsFor(i.owner, i.signer);
      const signer = await recoverTypedDataAddress({
        domain: chain.domain('consentRegistry'),
        types: scopeKeyTypes,
        primaryType: 'ScopeKey',
        message: {
          owner: i.owner,
          category: i.category,
          epoch: i.epoch,
          scopeId: i.scopeId,
          publicKey: i.publicKey,
        },
        signature: i.signature,
      }).catch(() => undefined);
      if (signer !== i.signer)
        throw new NodeError('INVALID_SIGNATURE', 'the scope key is not signed by its signer');
      const owner = i.owner.toLowerCase();
      const existing = db.scopes.ofOwner(owner).find((k) => k.category === i.category && k.epoch === i.epoch);
      if (existing && existing.scope_id !== i.scopeId)
        throw new NodeError('RECORD_EXISTS', `${i.category} epoch ${i.epoch} already has a scope key`);
      if (existing) {
        // The owner may countersign, as its own, a key a delegate published (writers stop trusting a delegate's
        // signature once it is revoked); the key itself never changes.
        if (existing.public_key !== i.publicKey)
          throw new NodeError('RECORD_EXISTS', `${i.category} epoch ${i.epoch} already has another key`);
        if (i.signer === i.owner) db.scopes.resign(owner, i.scopeId, `${owner}:${i.signature}`);
        return { scopeId: i.scopeId, epoch: i.epoch };
      }
      db.scopes.publish({
        owner,
        scope_id: i.scopeId,
        category: i.category,
        epoch: i.epoch,
        public_key: i.publicKey,
        signature: `${i.signer.toLowerCase()}:${i.signature}`,
      });
      return { scopeId: i.scopeId, epoch: i.epoch };
    },

    /** The owner's published scope keys (every epoch), each with the signature writers check. */
    scopeKeys(owner: Address) {
      return db.scopes.ofOwner(owner.toLowerCase()).map((k) => {
        const [signer, signature] = k.signature.split(':');
        return {
          owner: getAddress(k.owner),
          category: k.category,
          epoch: k.epoch,
          scopeId: k.scope_id as Hex,
          publicKey: k.public_key as Hex,
          signer: getAddress(signer!),
          signature: signature as Hex,
        };
      });
    },

    async grant(caller: Address, i: GrantInput) {
      if (caller !== i.signer) throw new NodeError('FORBIDDEN', 'only the signer may submit its grant');
      checkPurpose(i.purpose);
      await requireActsFor(i.owner, i.signer);
      await checkWindow([i.owner, i.grantee, i.scope, i.purpose], i.nonce, i.deadline);
      const grantee = i.grantee.toLowerCase();
      const record = db.records.get(i.scope);
      if (record) {
        if (record.owner !== i.owner.toLowerCase())
          throw new NodeError('FORBIDDEN', `record ${i.scope} is not ${i.owner}'s`);
        if (!i.envelope)
          throw new NodeError('INVALID_BODY', 'a record grant carries the data key wrapped for the grantee');
        db.envelopes.put(i.scope, grantee, i.envelope);
      } else {
        if (!db.scopes.get(i.owner.toLowerCase(), i.scope))
          throw new NodeError(
            'SCOPE_NOT_FOUND',
            `${i.scope} is neither a record nor a published scope of ${i.owner}`,
          );
        if (!i.scopeKeyEnvelope)
          throw new NodeError(
            'INVALID_BODY',
            'a category grant carries the scope key wrapped for the grantee',
          );
        db.scopes.putGrantKey(i.scope, grantee, i.scopeKeyEnvelope);
      }
      return relay('grantBySig', [
        i.owner,
        i.grantee,
        i.scope,
        i.purpose,
        i.expiresAt,
        i.signer,
        i.deadline,
        i.signature,
      ]);
    },

    async revoke(caller: Address, i: RevokeInput) {
      if (caller !== i.signer) throw new NodeError('FORBIDDEN', 'only the signer may submit its revocation');
      checkPurpose(i.purpose);
      await requireActsFor(i.owner, i.signer);
      await checkWindow([i.owner, i.grantee, i.scope, i.purpose], i.nonce, i.deadline);
      const out = await relay('revokeBySig', [
        i.owner,
        i.grantee,
        i.scope,
        i.purpose,
        i.signer,
        i.deadline,
        i.signature,
      ]);
      // The chain refuses the grantee now; the key material it was given for this grant goes too.
      if (db.records.exists(i.scope)) db.envelopes.remove(i.scope, i.grantee.toLowerCase());
      else db.scopes.removeGrantKey(i.scope, i.grantee.toLowerCase());
      return out;
    },

    /**
     * Indexed grants by owner or grantee, with whether each is live at the chain's current time and when it last
     * changed (the block time of the latest grant or revocation).
     */
    async list(q: { owner?: Address; grantee?: Address }) {
      const now = await chainTime();
      const rows = q.owner
        ? db.grants.ofOwner(q.owner.toLowerCase())
        : q.grantee
          ? db.grants.ofGrantee(q.grantee.toLowerCase())
          : [];
      const out = [];
      for (const g of rows) out.push({ ...view(g, now), time: await blockTime(g.block_number) });
      return { grants: out, chainTime: now };
    },

    /**
     * Decides a read of `row` by `caller` for `purpose` (care or research). Throws NOT_CERTIFIED or FORBIDDEN.
     * A grant of the record itself wins over a scope grant (its envelope is the grantee's own).
     */
    async access(caller: Address, row: RecordRow, purpose: number): Promise<Access> {
      if (row.owner === caller.toLowerCase()) return { via: 'owner' };
      checkPurpose(purpose);
      const delegated = await delegateAccess(caller, row, purpose);
      if (delegated && delegated !== 'unfiled') return delegated;
      // A delegate may also be a provider with a grant of its own; failing that, it is told why it cannot read.
      const unfiled = () =>
        new NodeError(
          'ENVELOPE_NOT_FOUND',
          `record ${row.record_id} is filed under none of its owner's scopes`,
        );
      if (!(await certifiedFor(caller, purpose))) {
        if (delegated === 'unfiled') throw unfiled();
        throw new NodeError(
          'NOT_CERTIFIED',
          `${caller} is not currently certified as a ${purpose === Purpose.research ? 'researcher' : 'provider'}`,
        );
      }
      const owner = getAddress(row.owner);
      if (await isGranted(owner, caller, row.record_id, purpose)) return { via: 'record' };
      for (const scopeId of db.scopes.ofRecord(row.record_id)) {
        if (await isGranted(owner, caller, scopeId, purpose))
          return { via: 'scope', scopeId: scopeId as Hex };
      }
      if (delegated === 'unfiled') throw unfiled();
      throw new NodeError(
        'FORBIDDEN',
        `you hold no live ${purpose === Purpose.research ? 'research' : 'care'} grant for record ${row.record_id}`,
      );
    },

    /**
     * What of `owner`'s a non-owner may list: the record ids and scope ids of its live grants for `purpose`
     * (none if it is not certified for that purpose).
     */
    async visibleTo(caller: Address, owner: Address, purpose: number) {
      checkPurpose(purpose);
      const candidates = db.grants.between(owner.toLowerCase(), caller.toLowerCase(), purpose);
      if (candidates.length === 0 || !(await certifiedFor(caller, purpose))) return undefined;
      const recordIds: string[] = [];
      const scopeIds: string[] = [];
      for (const g of candidates) {
        if (!(await isGranted(owner, caller, g.scope, purpose))) continue;
        if (db.scopes.get(g.owner, g.scope)) scopeIds.push(g.scope);
        else recordIds.push(g.scope);
      }
      return recordIds.length + scopeIds.length > 0 ? { recordIds, scopeIds } : undefined;
    },

    requireActsFor,
    isDelegate,
    ownerScopeOf,
  };
}
