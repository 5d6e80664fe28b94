/**
 * Certification service — transport-agnostic. Answers "is this account certified right now, by whom, since when,
 * until when" from the registry's state on chain (so it cannot disagree with enforcement), enriched from the index
 * with who stands behind the issuer; lists peer-review cases and their reviewers' phases (a vote only once revealed);
 * relays the candidate's signed application (with its MED permit for the bond), reviewers' signed vote commitments,
 * reveals and finalisations, paying the gas; and keeps the candidate's evidence key wrapped for each drawn reviewer,
 * serving the sealed evidence only to the candidate and the reviewers of that case.
 */
import { authorityCouncilAbi, medTokenAbi, mPPointsAbi, peerReviewAbi } from '@medbloc/contracts';
import { Role } from '@medbloc/core';
import { type BlobStore, blobCid } from '@medbloc/storage';
import {
  type Abi,
  type Address,
  getAddress,
  type Hex,
  hexToBytes,
  parseEther,
  parseEventLogs,
  toHex,
} from 'viem';
import { type Chain, revertToError } from '../chain/client.ts';
import type { Indexer } from '../chain/indexer.ts';
import type { ApplicationRow } from '../db/certification.ts';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';
import { checkSignatureWindow } from './signatures.ts';

/** PeerReview's statuses and ballot states, by name. */
export const STATUS_NAMES = ['', 'pending', 'approved', 'rejected', 'no-quorum'] as const;
export type ApplicationStatus = 'pending' | 'approved' | 'rejected' | 'no-quorum';
const KIND_NAMES = ['apply', 'renewal', 'challenge', 'appeal'] as const;
const BALLOT_NAMES = ['', 'drawn', 'committed', 'revealed'] as const;
const ROLE_NAMES: Record<number, 'provider' | 'researcher'> = { 2: 'provider', 4: 'researcher' };

/** Contract custom errors of the certification flows → stable codes (the generic mapping knows only a few). */
const CERTIFICATION_CODES: Record<string, string> = {
  PeerReviewExpiredSignature: 'SIGNATURE_EXPIRED',
  PeerReviewInvalidSignature: 'INVALID_SIGNATURE',
  PeerReviewInvalidRole: 'INVALID_BODY',
  PeerReviewNotRegistered: 'NOT_REGISTERED',
  PeerReviewBondTooLow: 'BOND_TOO_LOW',
  PeerReviewNotEnoughReviewers: 'NOT_ENOUGH_REVIEWERS',
  PeerReviewUnknownApplication: 'APPLICATION_NOT_FOUND',
  PeerReviewNotPending: 'APPLICATION_CLOSED',
  PeerReviewNotReviewer: 'NOT_REVIEWER',
  PeerReviewCommitClosed: 'COMMIT_CLOSED',
  PeerReviewRevealNotOpen: 'REVEAL_NOT_OPEN',
  PeerReviewRevealOpen: 'REVIEW_OPEN',
  PeerReviewAlreadyCommitted: 'ALREADY_COMMITTED',
  PeerReviewNotCommitted: 'NOT_COMMITTED',
  PeerReviewInvalidCommitment: 'INVALID_BODY',
  PeerReviewInvalidReveal: 'INVALID_REVEAL',
  PeerReviewCaseOpen: 'CASE_OPEN',
  PeerReviewNotCertified: 'NOT_CERTIFIED',
  PeerReviewSelfChallenge: 'INVALID_BODY',
  PeerReviewAlreadyDrawn: 'ALREADY_DRAWN',
  PeerReviewDrawNotReady: 'DRAW_NOT_READY',
  PeerReviewNotAppealable: 'NOT_APPEALABLE',
  PeerReviewAlreadyAppealed: 'ALREADY_APPEALED',
  ERC20InsufficientBalance: 'INSUFFICIENT_MED',
  ERC20InsufficientAllowance: 'INSUFFICIENT_MED',
  MPPointsExpiredSignature: 'SIGNATURE_EXPIRED',
  MPPointsInvalidSignature: 'INVALID_SIGNATURE',
  MPPointsInsufficientPoints: 'INSUFFICIENT_POINTS',
  MPPointsInsufficientStake: 'INSUFFICIENT_POINTS',
  MPPointsInvalidAmount: 'INVALID_BODY',
};

const MESSAGES: Record<string, string> = {
  BOND_TOO_LOW: 'the bond is below the council’s minimum bond',
  NOT_ENOUGH_REVIEWERS: 'not enough certified providers with unlocked stake to draw a review panel',
  APPLICATION_NOT_FOUND: 'no such application',
  APPLICATION_CLOSED: 'the application is already finalised',
  NOT_REVIEWER: 'this account is not a drawn reviewer of the application',
  COMMIT_CLOSED: 'the commit window of this application has closed',
  REVEAL_NOT_OPEN: 'the reveal window is not open (it opens when the commit window ends)',
  REVIEW_OPEN: 'the reveal window has not ended yet',
  ALREADY_COMMITTED: 'this reviewer has already committed a vote',
  NOT_COMMITTED: 'this reviewer has no committed vote to reveal',
  INVALID_REVEAL: 'the vote and salt do not match the committed vote',
  INSUFFICIENT_MED: 'not enough MED (or allowance) for the bond',
  INSUFFICIENT_POINTS: 'not enough MP points',
  CASE_OPEN: 'this account already has an open case for that role',
  NOT_CERTIFIED: 'not certified for that',
  ALREADY_DRAWN: 'the panel is already drawn',
  DRAW_NOT_READY: 'the panel can be drawn from the block after the case opened',
  NOT_APPEALABLE: 'only the loser of a decided case (not an appeal) may appeal it',
  ALREADY_APPEALED: 'this case was already appealed',
};

/** Re-types a relayed call's revert with this module's stable codes. */
function certificationError(err: unknown): NodeError {
  const e = err instanceof NodeError ? err : revertToError(err);
  const name = e.details?.contractError;
  const code = typeof name === 'string' ? CERTIFICATION_CODES[name] : undefined;
  if (!code || code === e.code) return e;
  return new NodeError(code, `${MESSAGES[code] ?? 'the chain refused it'} (${name})`, e.details, {
    cause: err,
  });
}

export interface ApplyInput {
  candidate: Address;
  role: number;
  credentialHash: Hex;
  evidencePointer: Hex;
  bond: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  /** EIP-2612 permit for the bond, signed by the candidate; without it the candidate must have approved it. */
  permit?: { deadline: bigint; v: number; r: Hex; s: Hex } | undefined;
  /** The evidence key wrapped for the candidate itself (HPKE, AAD = the evidence digest). */
  evidenceEnvelope: string;
}

type Permit = { deadline: bigint; v: number; r: Hex; s: Hex };

export interface ChallengeInput {
  challenger: Address;
  subject: Address;
  role: number;
  evidenceHash: Hex;
  bond: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  permit?: Permit | undefined;
  /** The evidence key wrapped for the challenger itself. */
  evidenceEnvelope: string;
}

export interface AppealInput {
  applicationId: bigint;
  appellant: Address;
  /** The appeal's bond: as much as the appealed case's (at least the minimum); what the permit must cover. */
  bond: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  permit?: Permit | undefined;
}

export interface CommitInput {
  applicationId: bigint;
  reviewer: Address;
  commitment: Hex;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

export interface RevealInput {
  applicationId: bigint;
  reviewer: Address;
  approve: boolean;
  salt: Hex;
}

export interface StakeInput {
  holder: Address;
  amount: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

interface OnChainApplication {
  candidate: Address;
  role: number;
  status: number;
  approvals: number;
  rejections: number;
  quorum: number;
  commitEnd: bigint;
  revealEnd: bigint;
  certificationValidity: number;
  bond: bigint;
  reviewerStake: bigint;
  credentialHash: Hex;
}

export type CertificationService = ReturnType<typeof createCertificationService>;

export function createCertificationService(deps: {
  db: Db;
  chain: Chain;
  indexer: Indexer;
  blobs: BlobStore;
  /** The embedded development chain: the node may fund accounts (ETH for gas, MED for bonds) from its operator. */
  devChain: boolean;
}) {
  const { db, chain, indexer, blobs } = deps;
  const t = db.certification;
  const d = chain.deployment;
  // MED's errors too: a bond that cannot be taken reverts inside the token, and the reason bubbles up.
  const review = {
    address: d.peerReview,
    abi: [...peerReviewAbi, ...medTokenAbi.filter((x) => x.type === 'error')] as Abi,
  };
  const council = { address: d.council, abi: authorityCouncilAbi as Abi };
  const points = { address: d.mpPoints, abi: mPPointsAbi as Abi };
  const med = { address: d.medToken, abi: medTokenAbi as Abi };
  const registry = chain.contracts.accounts;

  async function relay(
    c: { address: Address; abi: Abi },
    functionName: string,
    args: readonly unknown[],
    o: { pending?: boolean } = {},
  ) {
    try {
      // A peer-review draw's gas depends on its seed: give the estimate a margin (see PeerReview). A draw needs the
      // block after the case's, which on an automining chain exists only once it is mined: estimate on `pending`.
      const blockTag = o.pending ? { blockTag: 'pending' } : {};
      const gas = await chain.publicClient.estimateContractGas({
        ...c,
        functionName,
        args,
        account: chain.operator,
        ...blockTag,
      } as never);
      const receipt = await chain.relay({
        ...c,
        functionName,
        args,
        gas: (gas * 5n) / 4n,
        ...blockTag,
      } as never);
      await indexer.sync(receipt.blockNumber);
      return receipt;
    } catch (err) {
      throw certificationError(err);
    }
  }

  async function chainTime(): Promise<number> {
    return Number((await chain.publicClient.getBlock()).timestamp);
  }

  async function onChain(applicationId: bigint): Promise<OnChainApplication> {
    try {
      return await chain.read<OnChainApplication>(review, 'applicationOf', [applicationId]);
    } catch (err) {
      throw certificationError(err);
    }
  }

  async function indexed(applicationId: bigint): Promise<ApplicationRow> {
    let row = t.applications.get(Number(applicationId));
    if (!row) {
      await onChain(applicationId); // a clear 404 for an id the chain doesn't know
      await indexer.sync();
      row = t.applications.get(Number(applicationId));
    }
    if (!row) throw new NodeError('APPLICATION_NOT_FOUND', `application ${applicationId} is not indexed yet`);
    return row;
  }

  function phaseOf(status: number, commitEnd: number, revealEnd: number, now: number) {
    if (status !== 1) return 'closed' as const;
    if (now <= commitEnd) return 'commit' as const;
    if (now <= revealEnd) return 'reveal' as const;
    return 'finalizable' as const;
  }

  function summary(r: ApplicationRow, now: number) {
    return {
      applicationId: r.application_id,
      kind: KIND_NAMES[r.kind] ?? 'apply',
      candidate: getAddress(r.candidate),
      subject: getAddress(r.subject ?? r.candidate),
      ...(r.appeal_of ? { appealOf: r.appeal_of } : {}),
      role: ROLE_NAMES[r.role] ?? String(r.role),
      credentialHash: r.credential_hash as Hex,
      evidence: r.evidence as Hex,
      bond: r.bond,
      status: STATUS_NAMES[r.status] as ApplicationStatus,
      phase: phaseOf(r.status, r.commit_end, r.reveal_end, now),
      commitEnd: r.commit_end,
      revealEnd: r.reveal_end,
      approvals: r.approvals,
      rejections: r.rejections,
      bondReturned: r.bond_returned,
      bondForfeited: r.bond_forfeited,
      submittedAt: r.submitted_at,
      finalizedAt: r.finalized_at,
      txHash: r.tx_hash as Hex,
    };
  }

  async function reviewersOf(applicationId: bigint): Promise<Address[]> {
    return chain.read<Address[]>(review, 'reviewersOf', [applicationId]);
  }

  /** The candidate and the drawn reviewers may read a case's evidence; anyone else is refused. */
  async function requireEvidenceReader(caller: Address, applicationId: bigint) {
    const row = await indexed(applicationId);
    if (row.candidate === caller.toLowerCase()) return row;
    const reviewers = await reviewersOf(applicationId);
    if (reviewers.some((r) => r.toLowerCase() === caller.toLowerCase())) return row;
    throw new NodeError(
      'NOT_REVIEWER',
      `only the candidate and the drawn reviewers of application ${applicationId} may read its evidence`,
    );
  }

  /** MED balance and MP points (free, staked, locked on reviews) of an account. */
  async function balances(account: Address) {
    const [medBalance, free, staked, locked] = await Promise.all([
      chain.read<bigint>(med, 'balanceOf', [account]),
      chain.read<bigint>(points, 'freeBalanceOf', [account]),
      chain.read<bigint>(points, 'stakedOf', [account]),
      chain.read<bigint>(points, 'lockedOf', [account]),
    ]);
    return {
      account,
      med: medBalance.toString(),
      mp: { free: free.toString(), staked: staked.toString(), locked: locked.toString() },
    };
  }

  /** Draws a case's panel (from the block after it opened); the node's relayer does it at once. */
  async function drawPanel(applicationId: bigint) {
    const receipt = await relay(review, 'draw', [applicationId], { pending: true });
    const logs = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs });
    const reviewers = logs
      .filter((l) => l.eventName === 'ReviewerDrawn')
      .map((l) => getAddress((l.args as { reviewer: Address }).reviewer));
    const closed = logs.some((l) => l.eventName === 'ApplicationFinalized');
    return { reviewers, status: closed ? ('no-quorum' as const) : ('pending' as const) };
  }

  /** Opens a case (apply, challenge, appeal) with the relayed call, then draws its panel. */
  async function openCase(functionName: string, args: readonly unknown[]) {
    const receipt = await relay(review, functionName, args);
    const submitted = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs }).find(
      (l) => l.eventName === 'ApplicationSubmitted',
    )?.args as { applicationId: bigint; commitEnd: bigint; revealEnd: bigint } | undefined;
    if (!submitted) throw new NodeError('CHAIN_REVERTED', 'the case was not recorded');
    // The case is open whatever happens to the draw: on a chain that does not mine at once the next block may not
    // exist yet (DRAW_NOT_READY); then `drawn` is false and the client (or anyone) draws later.
    const drawn = await drawPanel(submitted.applicationId).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'DRAW_NOT_READY') return undefined;
      throw err;
    });
    return {
      applicationId: Number(submitted.applicationId),
      drawn: drawn !== undefined,
      reviewers: drawn?.reviewers ?? [],
      status: drawn?.status ?? ('pending' as const),
      commitEnd: Number(submitted.commitEnd),
      revealEnd: Number(submitted.revealEnd),
      txHash: receipt.transactionHash,
      blockNumber: Number(receipt.blockNumber),
    };
  }

  /** Submits an EIP-2612 permit for a bond (anyone may); a front-run or already used permit is not an error. */
  async function permitBond(owner: Address, value: bigint, p: Permit) {
    await relay(med, 'permit', [owner, d.peerReview, value, p.deadline, p.v, p.r, p.s]).catch(
      () => undefined,
    );
  }

  const checkPeerReviewWindow = (signer: Address, nonce: bigint, deadline: bigint) =>
    checkSignatureWindow({
      nonce,
      deadline,
      whose: signer,
      current: () => chain.read<bigint>(review, 'nonces', [signer]),
    });

  return {
    /**
     * An account's certification per role, read from the registry now (what enforcement sees), with who stands
     * behind it from the index: an authority, a peer-review application, or an institution.
     */
    async status(account: Address) {
      // Up to the newest block (uncached), so who stands behind a certification made a moment ago is known.
      await indexer.sync(await chain.publicClient.getBlockNumber({ cacheTime: 0 }));
      const now = await chainTime();
      const roles = [];
      for (const role of [Role.provider, Role.researcher]) {
        const [[issuer, credentialHash, expiresAt, revoked], certified] = await Promise.all([
          chain.read<[Address, Hex, bigint, boolean]>(registry, 'certificationOf', [account, role]),
          chain.read<boolean>(registry, 'isCertified', [account, role]),
        ]);
        const name = ROLE_NAMES[role]!;
        if (issuer === '0x0000000000000000000000000000000000000000') {
          roles.push({ role: name, certified: false, issued: false as const });
          continue;
        }
        const i = t.issuances.latest(account.toLowerCase(), role);
        const matches = i && i.issuer === issuer.toLowerCase() && i.expires_at === Number(expiresAt);
        const via =
          matches && i.via !== 'council'
            ? i.via
            : issuer === d.peerReview
              ? 'peer-review'
              : issuer === d.council
                ? 'council'
                : 'authority';
        const ref = matches ? i.ref : via === 'authority' ? issuer.toLowerCase() : null;
        roles.push({
          role: name,
          certified,
          issued: true as const,
          issuer,
          via: via as 'authority' | 'peer-review' | 'institution' | 'council',
          ...(via === 'authority' && ref ? { authority: getAddress(ref) } : {}),
          ...(via === 'institution' && ref ? { institution: getAddress(ref) } : {}),
          ...(via === 'peer-review' && ref ? { applicationId: Number(ref) } : {}),
          credentialHash,
          since: matches ? i.time : null,
          expiresAt: Number(expiresAt),
          expired: Number(expiresAt) <= now,
          revoked,
        });
      }
      return { account, chainTime: now, roles };
    },

    /** The council's parameters, members and threshold, and the contracts of the certification flows. */
    async parameters() {
      const [p, threshold, authorities] = await Promise.all([
        chain.read<Record<string, bigint | number | Address>>(council, 'parameters'),
        chain.read<bigint>(council, 'threshold'),
        chain.read<Address[]>(council, 'authorities'),
      ]);
      const parameters = Object.fromEntries(
        Object.entries(p).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
      );
      return {
        parameters,
        threshold: Number(threshold),
        authorities,
        contracts: {
          medToken: d.medToken,
          mpPoints: d.mpPoints,
          council: d.council,
          peerReview: d.peerReview,
        },
        devChain: deps.devChain,
      };
    },

    /** The council's proposals as indexed, newest first, with the approvals of current members. */
    async proposals() {
      const members = new Set(t.council.members());
      return t.council.proposals().map((p) => ({
        proposalId: p.proposal_id,
        kind:
          ['', 'add-authority', 'remove-authority', 'threshold', 'parameters', 'call'][p.kind] ?? 'unknown',
        proposer: getAddress(p.proposer),
        data: p.data as Hex,
        executed: p.executed === 1,
        approvals: t.council
          .approvals(p.proposal_id)
          .filter((a) => members.has(a))
          .map((a) => getAddress(a)),
        time: p.time,
      }));
    },

    async nonces(account: Address) {
      const [peerReview, mp, medToken] = await Promise.all([
        chain.read<bigint>(review, 'nonces', [account]),
        chain.read<bigint>(points, 'nonces', [account]),
        chain.read<bigint>(med, 'nonces', [account]),
      ]);
      return { peerReview: peerReview.toString(), mpPoints: mp.toString(), medToken: medToken.toString() };
    },

    balances,

    /**
     * Relays the candidate's signed application. The sealed evidence must already be stored here (its digest is
     * the evidence pointer); the candidate's own envelope is kept before relaying, so the key is never lost.
     */
    async apply(caller: Address, i: ApplyInput) {
      if (caller !== i.candidate)
        throw new NodeError('FORBIDDEN', 'only the candidate may submit its application');
      if (i.role !== Role.provider && i.role !== Role.researcher)
        throw new NodeError('INVALID_BODY', 'role must be provider (2) or researcher (4)');
      if (!(await chain.read<boolean>(registry, 'isRegistered', [i.candidate])))
        throw new NodeError('NOT_REGISTERED', `${i.candidate} must register before applying`);
      await checkPeerReviewWindow(i.candidate, i.nonce, i.deadline);
      if (!(await blobs.has(blobCid(hexToBytes(i.evidencePointer)))))
        throw new NodeError(
          'BLOB_NOT_FOUND',
          'upload the sealed evidence first: its digest is the evidence pointer',
        );
      t.evidenceKeys.put(i.evidencePointer, i.candidate.toLowerCase(), i.evidenceEnvelope);
      const args = [
        i.candidate,
        i.role,
        i.credentialHash,
        i.evidencePointer,
        i.bond,
        i.deadline,
        i.signature,
      ] as const;
      return i.permit ? openCase('applyWithPermitBySig', [...args, i.permit]) : openCase('applyBySig', args);
    },

    /**
     * Relays a certified provider's signed challenge of `subject`'s certification (its MED permit first, for the
     * bond); the challenger's sealed evidence must be stored here, as for an application.
     */
    async challenge(caller: Address, i: ChallengeInput) {
      if (caller !== i.challenger)
        throw new NodeError('FORBIDDEN', 'only the challenger may submit its challenge');
      if (i.role !== Role.provider && i.role !== Role.researcher)
        throw new NodeError('INVALID_BODY', 'role must be provider (2) or researcher (4)');
      await checkPeerReviewWindow(i.challenger, i.nonce, i.deadline);
      if (!(await blobs.has(blobCid(hexToBytes(i.evidenceHash)))))
        throw new NodeError(
          'BLOB_NOT_FOUND',
          'upload the sealed evidence first: its digest is the evidence hash',
        );
      t.evidenceKeys.put(i.evidenceHash, i.challenger.toLowerCase(), i.evidenceEnvelope);
      if (i.permit) await permitBond(i.challenger, i.bond, i.permit);
      return openCase('challengeBySig', [
        i.challenger,
        i.subject,
        i.role,
        i.evidenceHash,
        i.bond,
        i.deadline,
        i.signature,
      ]);
    },

    /** Relays the loser's signed appeal of a decided case (its MED permit first); a fresh panel is drawn. */
    async appeal(caller: Address, i: AppealInput) {
      if (caller !== i.appellant)
        throw new NodeError('FORBIDDEN', 'only the appellant may submit its appeal');
      await checkPeerReviewWindow(i.appellant, i.nonce, i.deadline);
      if (i.permit) await permitBond(i.appellant, i.bond, i.permit);
      return openCase('appealBySig', [i.applicationId, i.appellant, i.deadline, i.signature]);
    },

    /** Draws a case's panel if the relayer's own draw did not happen (anyone may ask). */
    async draw(applicationId: bigint) {
      const out = await drawPanel(applicationId);
      return { applicationId: Number(applicationId), ...out };
    },

    /** The candidate posts its evidence key wrapped for the drawn reviewers (each HPKE to the reviewer's key). */
    async shareEvidence(
      caller: Address,
      applicationId: bigint,
      envelopes: { reader: Address; envelope: string }[],
    ) {
      const row = await indexed(applicationId);
      if (row.candidate !== caller.toLowerCase())
        throw new NodeError('FORBIDDEN', 'only the candidate shares its evidence');
      const allowed = new Set([
        row.candidate,
        ...(await reviewersOf(applicationId)).map((r) => r.toLowerCase()),
      ]);
      for (const e of envelopes) {
        if (!allowed.has(e.reader.toLowerCase()))
          throw new NodeError(
            'NOT_REVIEWER',
            `${e.reader} is not a drawn reviewer of application ${applicationId}`,
          );
      }
      db.tx(() => {
        for (const e of envelopes) t.evidenceKeys.put(row.evidence, e.reader.toLowerCase(), e.envelope);
      });
      return {
        applicationId: Number(applicationId),
        readers: t.evidenceKeys.readers(row.evidence).map((r) => getAddress(r)),
      };
    },

    /** The caller's evidence envelope and the evidence's address: for the candidate and drawn reviewers only. */
    async evidence(caller: Address, applicationId: bigint) {
      const row = await requireEvidenceReader(caller, applicationId);
      const envelope = t.evidenceKeys.get(row.evidence, caller.toLowerCase());
      if (!envelope)
        throw new NodeError(
          'ENVELOPE_NOT_FOUND',
          `the candidate has not shared the evidence key with ${caller} yet`,
        );
      return {
        applicationId: Number(applicationId),
        evidence: row.evidence as Hex,
        cid: blobCid(hexToBytes(row.evidence as Hex)).toString(),
        envelope,
      };
    },

    /** The sealed evidence bytes (ciphertext), for the candidate and drawn reviewers only. */
    async evidenceContent(caller: Address, applicationId: bigint) {
      const row = await requireEvidenceReader(caller, applicationId);
      const cid = blobCid(hexToBytes(row.evidence as Hex));
      if (!(await blobs.has(cid)))
        throw new NodeError('BLOB_NOT_FOUND', 'the evidence blob is not on this node');
      return { cid: cid.toString(), stream: blobs.get(cid) };
    },

    /** Applications from the index, newest first, filtered by status, candidate or drawn reviewer. */
    async applications(q: { status?: ApplicationStatus; candidate?: Address; reviewer?: Address }) {
      const now = await chainTime();
      const status = q.status ? STATUS_NAMES.indexOf(q.status) : undefined;
      const rows = t.applications.list({
        ...(status ? { status } : {}),
        ...(q.candidate ? { candidate: q.candidate.toLowerCase() } : {}),
        ...(q.reviewer ? { reviewer: q.reviewer.toLowerCase() } : {}),
      });
      return {
        chainTime: now,
        applications: rows.map((r) => {
          const me = q.reviewer
            ? t.reviewers.of(r.application_id).find((x) => x.reviewer === q.reviewer!.toLowerCase())
            : undefined;
          return {
            ...summary(r, now),
            ...(me ? { myBallot: BALLOT_NAMES[me.state] } : {}),
          };
        }),
      };
    },

    /**
     * One application with each drawn reviewer's phase read from the chain: drawn, committed or revealed; the
     * vote appears only once revealed (a commitment hides it until then).
     */
    async application(applicationId: bigint) {
      const a = await onChain(applicationId);
      const row = await indexed(applicationId);
      const now = await chainTime();
      const reviewers = [];
      const outcomes = new Map(t.reviewers.of(Number(applicationId)).map((r) => [r.reviewer, r]));
      for (const reviewer of await reviewersOf(applicationId)) {
        const [state, approve] = await chain.read<[number, boolean, Hex]>(review, 'ballotOf', [
          applicationId,
          reviewer,
        ]);
        const o = outcomes.get(reviewer.toLowerCase());
        reviewers.push({
          reviewer,
          ballot: BALLOT_NAMES[state] ?? 'drawn',
          ...(state === 3 ? { vote: approve ? ('approve' as const) : ('reject' as const) } : {}),
          ...(o?.reward ? { reward: o.reward } : {}),
          ...(o?.slashed ? { slashed: o.slashed } : {}),
        });
      }
      return {
        ...summary(row, now),
        status: STATUS_NAMES[a.status] as ApplicationStatus,
        phase: phaseOf(a.status, Number(a.commitEnd), Number(a.revealEnd), now),
        approvals: a.approvals,
        rejections: a.rejections,
        quorum: a.quorum,
        reviewerStake: a.reviewerStake.toString(),
        certificationValidity: a.certificationValidity,
        chainTime: now,
        reviewers,
      };
    },

    /** Relays a drawn reviewer's signed vote commitment (`CommitVote`). */
    async commit(i: CommitInput) {
      await checkPeerReviewWindow(i.reviewer, i.nonce, i.deadline);
      const receipt = await relay(review, 'commitVoteBySig', [
        i.applicationId,
        i.reviewer,
        i.commitment,
        i.deadline,
        i.signature,
      ]);
      return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber) };
    },

    /** Relays a reveal: the commitment, bound to the reviewer, is the authority (only the reviewer knows the salt). */
    async reveal(i: RevealInput) {
      const receipt = await relay(review, 'revealVoteFor', [i.applicationId, i.reviewer, i.approve, i.salt]);
      return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber) };
    },

    /** After the reveal window anyone may finalise: tally, settle stakes and bond, certify an approved candidate. */
    async finalize(applicationId: bigint) {
      const receipt = await relay(review, 'finalize', [applicationId]);
      const [done] = parseEventLogs({
        abi: peerReviewAbi,
        logs: receipt.logs,
        eventName: 'ApplicationFinalized',
      });
      const status = Number((done?.args as { status: number } | undefined)?.status ?? 0);
      return {
        applicationId: Number(applicationId),
        status: STATUS_NAMES[status] as ApplicationStatus,
        txHash: receipt.transactionHash,
        blockNumber: Number(receipt.blockNumber),
      };
    },

    /** Relays a holder's signed `Stake` of its free MP points (the pool reviewers are drawn from). */
    async stake(i: StakeInput) {
      await checkSignatureWindow({
        nonce: i.nonce,
        deadline: i.deadline,
        whose: i.holder,
        current: () => chain.read<bigint>(points, 'nonces', [i.holder]),
      });
      const receipt = await relay(points, 'stakeBySig', [i.holder, i.amount, i.deadline, i.signature]);
      return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber) };
    },

    /**
     * Development chain only: gives `account` gas money (1 ETH, for the council members' own transactions) and
     * `med` MED from the operator's supply (for bonds). Refused on any other chain.
     */
    async faucet(account: Address, medAmount: string) {
      if (!deps.devChain)
        throw new NodeError('DEV_ONLY', 'the faucet exists only on the embedded development chain');
      let amount: bigint;
      try {
        amount = parseEther(medAmount);
      } catch {
        throw new NodeError('INVALID_BODY', '"med" must be a decimal amount of MED');
      }
      if (amount < 0n || amount > parseEther('1000000'))
        throw new NodeError('INVALID_BODY', '"med" must be from 0 to 1,000,000');
      const balance = await chain.publicClient.getBalance({ address: account });
      if (balance < parseEther('1')) {
        await chain.publicClient.request({
          method: 'anvil_setBalance',
          params: [account, toHex(parseEther('1'))],
        } as never);
      }
      if (amount > 0n) await relay(med, 'transfer', [account, amount]);
      return balances(account);
    },
  };
}
