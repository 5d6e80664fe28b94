/**
 * Certification from the user's side. A candidate seals its evidence here (the node stores only ciphertext; its
 * digest is the evidence pointer and credential hash on chain), signs its application and an EIP-2612 permit for the
 * MED bond, and — once reviewers are drawn — wraps the evidence key to each reviewer's X25519 key. A drawn reviewer
 * opens the evidence, commits a sealed vote (the salt stays with the caller) and reveals it later. Authorities act on
 * the AuthorityCouncil with their own key: the council has no relayed path, so those calls send transactions (gas).
 *
 * @example
 * const { applicationId } = await client.applyForCertification({ role: 'provider', evidence: licencePdf });
 * // a drawn reviewer:
 * const bytes = await reviewer.openEvidence(applicationId);
 * const { salt } = await reviewer.commitVote(applicationId, true);
 * await reviewer.revealVote(applicationId, true, salt); // in the reveal window
 */
import { accountRegistryAbi, authorityCouncilAbi, mPPointsAbi } from '@medbloc/contracts';
import {
  appealDecisionTypes,
  applyForCertificationTypes,
  challengeCertificationTypes,
  commitVoteTypes,
  decodeEnvelope,
  domainFor,
  encodeEnvelope,
  generateDataKey,
  hpkeUnwrap,
  hpkeWrap,
  type Identity,
  openBytes,
  Role,
  sealBytes,
  stakeTypes,
  voteCommitmentParameters,
} from '@medbloc/core/portable';
import {
  type Abi,
  type Address,
  bytesToHex,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  getAddress,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  parseEther,
  parseEventLogs,
  parseSignature,
  sha256,
  stringToBytes,
} from 'viem';
import { MedblocApiError } from './errors.ts';
import type { Transport } from './http.ts';

export type CertifiableRole = 'provider' | 'researcher';
export type ApplicationStatus = 'pending' | 'approved' | 'rejected' | 'no-quorum';

/** One certification of an account as the chain holds it now, with who stands behind it. */
export type RoleCertification =
  | { role: CertifiableRole; certified: false; issued: false }
  | {
      role: CertifiableRole;
      certified: boolean;
      issued: true;
      issuer: Address;
      /** An authority directly, the peer-review contract, an institution (for its staff), or the council. */
      via: 'authority' | 'peer-review' | 'institution' | 'council';
      authority?: Address;
      applicationId?: number;
      institution?: Address;
      credentialHash: Hex;
      /** Chain time it was issued (seconds), when this node indexed it. */
      since: number | null;
      expiresAt: number;
      expired: boolean;
      revoked: boolean;
    };

export interface CertificationStatus {
  account: Address;
  chainTime: number;
  roles: RoleCertification[];
}

/** A case just opened and its panel drawn (`no-quorum` if too few eligible reviewers: the bond is refunded). */
export interface OpenedCase {
  applicationId: number;
  /** False when the chain had no next block yet to draw from: `applyForCertification` & co. draw then, by retrying. */
  drawn: boolean;
  reviewers: Address[];
  status: 'pending' | 'no-quorum';
  commitEnd: number;
  revealEnd: number;
  txHash: Hex;
}

export interface ApplicationSummary {
  applicationId: number;
  kind: 'apply' | 'renewal' | 'challenge' | 'appeal';
  /** Whose certification is at stake: the candidate, or the target of a challenge. */
  subject: Address;
  appealOf?: number;
  /** Who opened the case and bonded: the candidate, the challenger, the appellant. */
  candidate: Address;
  role: CertifiableRole;
  credentialHash: Hex;
  evidence: Hex;
  /** MED base units. */
  bond: string;
  status: ApplicationStatus;
  /** Where the case is at the chain's current time. */
  phase: 'commit' | 'reveal' | 'finalizable' | 'closed';
  commitEnd: number;
  revealEnd: number;
  approvals: number;
  rejections: number;
  bondReturned: string | null;
  bondForfeited: string | null;
  submittedAt: number;
  finalizedAt: number | null;
  txHash: Hex;
  /** In `reviews()`: how far this reviewer got. */
  myBallot?: 'drawn' | 'committed' | 'revealed';
}

export interface ApplicationDetail extends ApplicationSummary {
  quorum: number;
  reviewerStake: string;
  certificationValidity: number;
  chainTime: number;
  reviewers: {
    reviewer: Address;
    ballot: 'drawn' | 'committed' | 'revealed';
    /** Only once revealed. */
    vote?: 'approve' | 'reject';
    reward?: string;
    slashed?: string;
  }[];
}

/** The AuthorityCouncil.Parameters, as the node serves them (amounts as decimal strings of base units). */
export interface CouncilParameters {
  reviewSize: number;
  quorum: number;
  slashBps: number;
  bondReturnBps: number;
  commitWindow: number;
  revealWindow: number;
  certificationValidity: number;
  maxStaffQuota: number;
  maxStaffValidity: number;
  proposalLifetime: number;
  reviewerStake: string;
  reviewReward: string;
  certificationReward: string;
  minBond: string;
  treasury: Address;
}

interface Deps {
  transport: Transport;
  identity: Identity;
  authed: <T>(method: string, path: string, body?: unknown) => Promise<T>;
  session: () => Promise<string>;
  nodeInfo: () => Promise<{ chainId: number; rpcUrl: string; contracts: Record<string, Address> }>;
  rpcUrl?: string | undefined;
  deadline: () => bigint;
  uploadBytes: (bytes: Uint8Array) => Promise<{ cid: string; size: number }>;
  encryptionKeyOf: (account: Address) => Promise<Uint8Array>;
}

const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** A MED or MP amount: a bigint in base units, or a decimal number/string of whole tokens ("50", 2.5). */
export function tokenAmount(v: bigint | number | string): bigint {
  if (typeof v === 'bigint') return v;
  const s = String(v).trim();
  if (!/^\d+(\.\d{1,18})?$/.test(s)) throw new TypeError(`"${v}" is not an amount of tokens`);
  return parseEther(s);
}

export function createCertification(deps: Deps) {
  const { transport, identity, authed } = deps;
  const me = getAddress(identity.address);
  let parametersCache: { contracts: Record<string, Address>; parameters: CouncilParameters } | undefined;

  async function contracts() {
    const i = await deps.nodeInfo();
    return { chainId: i.chainId, ...(i.contracts as Record<string, Address>) } as {
      chainId: number;
      medToken: Address;
      mpPoints: Address;
      council: Address;
      peerReview: Address;
    };
  }

  async function nonces(account: Address = me) {
    return transport.json<{ peerReview: string; mpPoints: string; medToken: string }>(
      'GET',
      `/v1/certification/nonces/${account}`,
    );
  }

  async function parameters() {
    parametersCache = await transport.json<{
      parameters: CouncilParameters;
      threshold: number;
      authorities: Address[];
      contracts: Record<string, Address>;
      devChain: boolean;
    }>('GET', '/v1/certification/parameters');
    return parametersCache as typeof parametersCache & {
      threshold: number;
      authorities: Address[];
      devChain: boolean;
    };
  }

  async function application(applicationId: number | bigint) {
    return transport.json<ApplicationDetail>('GET', `/v1/certification/applications/${applicationId}`);
  }

  /** Draws the panel of a case the node could not draw yet (the next block did not exist), retrying for a while. */
  async function ensureDrawn(out: OpenedCase): Promise<OpenedCase> {
    for (let i = 0; !out.drawn && i < 60; i++) {
      try {
        const d = await transport.json<{ reviewers: Address[]; status: 'pending' | 'no-quorum' }>(
          'POST',
          `/v1/certification/applications/${out.applicationId}/draw`,
          {},
        );
        return { ...out, drawn: true, reviewers: d.reviewers, status: d.status };
      } catch (err) {
        if ((err as { code?: string }).code !== 'DRAW_NOT_READY') throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    return out;
  }

  /** Wraps the evidence key for every drawn reviewer who has no envelope yet (and posts them). */
  async function shareEvidenceKey(applicationId: number | bigint, dek: Uint8Array, evidence: Hex) {
    const { reviewers } = await application(applicationId);
    const envelopes = [];
    for (const r of reviewers) {
      const data = await hpkeWrap(await deps.encryptionKeyOf(r.reviewer), dek, hexToBytes(evidence));
      envelopes.push({ reader: r.reviewer, envelope: encodeEnvelope({ kind: 'hpke', data }) });
    }
    return authed<{ applicationId: number; readers: Address[] }>(
      'POST',
      `/v1/certification/applications/${applicationId}/evidence`,
      { envelopes },
    );
  }

  async function evidenceKey(applicationId: number | bigint) {
    const e = await authed<{ evidence: Hex; cid: string; envelope: string }>(
      'GET',
      `/v1/certification/applications/${applicationId}/evidence`,
    );
    const dek = await hpkeUnwrap(
      identity.encryption.privateKey,
      decodeEnvelope(e.envelope).data,
      hexToBytes(e.evidence),
    );
    return { ...e, dek };
  }

  /** Seals evidence with a fresh key and uploads the ciphertext; its digest is what goes on chain. */
  async function sealEvidence(evidence: Uint8Array | string) {
    const plaintext = typeof evidence === 'string' ? stringToBytes(evidence) : evidence;
    const dek = generateDataKey();
    const sealed = await sealBytes(plaintext, dek);
    await deps.uploadBytes(sealed);
    const digest = sha256(sealed);
    const envelope = encodeEnvelope({
      kind: 'hpke',
      data: await hpkeWrap(identity.encryption.publicKey, dek, hexToBytes(digest)),
    });
    return { dek, digest, envelope };
  }

  /** An EIP-2612 permit letting PeerReview take `value` MED from this identity (for a bond). */
  async function signPermit(value: bigint) {
    const c = await contracts();
    const deadline = deps.deadline();
    const sig = parseSignature(
      await identity.account.signTypedData({
        domain: domainFor(c.chainId, c.medToken),
        types: PERMIT_TYPES,
        primaryType: 'Permit',
        message: {
          owner: me,
          spender: c.peerReview,
          value,
          nonce: BigInt((await nonces()).medToken),
          deadline,
        },
      }),
    );
    return { deadline, v: Number(sig.v), r: sig.r, s: sig.s };
  }

  async function wallet() {
    const rpc = deps.rpcUrl ?? (await deps.nodeInfo()).rpcUrl;
    const transport = http(rpc);
    return {
      publicClient: createPublicClient({ transport, pollingInterval: 100 }),
      walletClient: createWalletClient({ account: identity.account, transport }),
    };
  }

  /** Sends one AuthorityCouncil call with this identity's own key and waits for it. */
  async function councilSend(functionName: string, args: readonly unknown[]) {
    const { council } = await contracts();
    const { publicClient, walletClient } = await wallet();
    // The registry's and MP's errors too: the council's calls into them revert with their reasons.
    const abi = [
      ...authorityCouncilAbi,
      ...[...accountRegistryAbi, ...mPPointsAbi].filter((x) => x.type === 'error'),
    ] as Abi;
    const c = { address: council, abi };
    const { request } = await publicClient
      .simulateContract({ ...c, functionName, args, account: identity.account } as never)
      .catch((err: unknown) => {
        throw councilError(err);
      });
    const hash = await walletClient.writeContract(request as never).catch((err: unknown) => {
      throw councilError(err);
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== 'success')
      throw new MedblocApiError('CHAIN_REVERTED', 422, `transaction ${hash} reverted`);
    return receipt;
  }

  async function councilRead<T>(functionName: string, args: readonly unknown[] = []) {
    const { council } = await contracts();
    const { publicClient } = await wallet();
    return publicClient.readContract({
      address: council,
      abi: authorityCouncilAbi as Abi,
      functionName,
      args,
    } as never) as Promise<T>;
  }

  /** Approves (if not yet) and executes a proposal once the threshold is met; returns whether it executed. */
  async function approveProposal(proposalId: number | bigint) {
    const id = BigInt(proposalId);
    if (!(await councilRead<boolean>('hasApproved', [id, me]))) await councilSend('approve', [id]);
    const [approvals, threshold] = await Promise.all([
      councilRead<bigint>('approvalCount', [id]),
      councilRead<bigint>('threshold'),
    ]);
    if (approvals < threshold)
      return {
        proposalId: Number(id),
        executed: false,
        approvals: Number(approvals),
        threshold: Number(threshold),
      };
    const receipt = await councilSend('execute', [id]);
    return {
      proposalId: Number(id),
      executed: true,
      approvals: Number(approvals),
      threshold: Number(threshold),
      txHash: receipt.transactionHash,
    };
  }

  /** Proposes, then executes at once if this member's approval alone meets the threshold. */
  async function propose(functionName: string, args: readonly unknown[]) {
    const receipt = await councilSend(functionName, args);
    const [created] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: receipt.logs,
      eventName: 'ProposalCreated',
    });
    const proposalId = (created!.args as { proposalId: bigint }).proposalId;
    return approveProposal(proposalId);
  }

  return {
    /** Whether `account` is a certified provider/researcher right now, by whom, since and until when, revoked? */
    certificationStatus(account: Address = me) {
      return transport.json<CertificationStatus>('GET', `/v1/certification/status/${getAddress(account)}`);
    },

    certificationParameters: parameters,

    /** MED balance and MP points (free, staked, locked) of an account. */
    balances(account: Address = me) {
      return transport.json<{
        account: Address;
        med: string;
        mp: { free: string; staked: string; locked: string };
      }>('GET', `/v1/certification/balances/${getAddress(account)}`);
    },

    /** Development chain only: 1 ETH for gas and `med` MED (default 100) from the node operator. */
    faucet(med: number | string = 100) {
      return transport.json<{ account: Address; med: string }>('POST', '/v1/dev/faucet', {
        account: me,
        med: String(med),
      });
    },

    /**
     * Applies for certification by peer review: seals `evidence` with a fresh key, uploads the ciphertext, signs the
     * application and a permit for the `bond` (MED; default the council's minimum), has the node relay both, then
     * wraps the evidence key for each drawn reviewer. Returns the application id and the reviewers drawn.
     */
    async applyForCertification(o: {
      role: CertifiableRole;
      evidence: Uint8Array | string;
      bond?: bigint | number | string;
    }) {
      const { parameters: p } = await parameters();
      const bond = o.bond === undefined ? BigInt(p.minBond) : tokenAmount(o.bond);
      const c = await contracts();
      const sealed = await sealEvidence(o.evidence);
      const message = {
        candidate: me,
        role: Role[o.role],
        credentialHash: sealed.digest,
        evidencePointer: sealed.digest,
        bond,
        nonce: BigInt((await nonces()).peerReview),
        deadline: deps.deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: domainFor(c.chainId, c.peerReview),
        types: applyForCertificationTypes,
        primaryType: 'ApplyForCertification',
        message,
      });
      const out0 = await authed<OpenedCase>('POST', '/v1/certification/applications', {
        ...message,
        signature,
        permit: await signPermit(bond),
        evidenceEnvelope: sealed.envelope,
      });
      const out = await ensureDrawn(out0);
      const evidence = sealed.digest;
      const dek = sealed.dek;
      const shared = await shareEvidenceKey(out.applicationId, dek, evidence);
      return { ...out, evidence, bond: bond.toString(), sharedWith: shared.readers };
    },

    /**
     * As a certified provider: challenges `subject`'s certification, bonding `bond` MED (default the minimum) behind
     * sealed `evidence`, which the drawn reviewers (only) can open. An upheld challenge revokes the certification.
     */
    async challenge(
      subject: Address,
      o: { role?: CertifiableRole; evidence: Uint8Array | string; bond?: bigint | number | string },
    ) {
      const { parameters: p } = await parameters();
      const bond = o.bond === undefined ? BigInt(p.minBond) : tokenAmount(o.bond);
      const c = await contracts();
      const sealed = await sealEvidence(o.evidence);
      const message = {
        challenger: me,
        subject: getAddress(subject),
        role: Role[o.role ?? 'provider'],
        evidenceHash: sealed.digest,
        bond,
        nonce: BigInt((await nonces()).peerReview),
        deadline: deps.deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: domainFor(c.chainId, c.peerReview),
        types: challengeCertificationTypes,
        primaryType: 'ChallengeCertification',
        message,
      });
      const out0 = await authed<OpenedCase>('POST', '/v1/certification/challenges', {
        ...message,
        signature,
        permit: await signPermit(bond),
        evidenceEnvelope: sealed.envelope,
      });
      const out = await ensureDrawn(out0);
      const shared = await shareEvidenceKey(out.applicationId, sealed.dek, sealed.digest);
      return { ...out, evidence: sealed.digest, bond: bond.toString(), sharedWith: shared.readers };
    },

    /**
     * As the loser of a decided case: appeals it once, bonding as much as that case (at least the minimum). A fresh
     * panel is drawn; the evidence of the appealed case is shared with it when this identity holds its key.
     */
    async appeal(applicationId: number | bigint) {
      const [{ parameters: p }, previous, c] = await Promise.all([
        parameters(),
        application(applicationId),
        contracts(),
      ]);
      const bond = BigInt(previous.bond) > BigInt(p.minBond) ? BigInt(previous.bond) : BigInt(p.minBond);
      const message = {
        applicationId: BigInt(applicationId),
        appellant: me,
        nonce: BigInt((await nonces()).peerReview),
        deadline: deps.deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: domainFor(c.chainId, c.peerReview),
        types: appealDecisionTypes,
        primaryType: 'AppealDecision',
        message,
      });
      const out0 = await authed<OpenedCase>(
        'POST',
        `/v1/certification/applications/${applicationId}/appeal`,
        {
          ...message,
          bond,
          signature,
          permit: await signPermit(bond),
        },
      );
      const out = await ensureDrawn(out0);
      let sharedWith: Address[] = [];
      try {
        const { dek, evidence } = await evidenceKey(out.applicationId);
        sharedWith = (await shareEvidenceKey(out.applicationId, dek, evidence)).readers;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENVELOPE_NOT_FOUND') throw err;
      }
      return { ...out, appealOf: Number(applicationId), bond: bond.toString(), sharedWith };
    },

    /** Draws a case's panel if the node's relayer has not (anyone may, from the block after the case opened). */
    draw(applicationId: number | bigint) {
      return transport.json<{ applicationId: number; reviewers: Address[]; status: string }>(
        'POST',
        `/v1/certification/applications/${applicationId}/draw`,
        {},
      );
    },

    /** Re-posts the evidence key for the drawn reviewers (the candidate only; e.g. after an interrupted apply). */
    async shareEvidence(applicationId: number | bigint) {
      const { dek, evidence } = await evidenceKey(applicationId);
      return shareEvidenceKey(applicationId, dek, evidence);
    },

    application,

    applications(q: { status?: ApplicationStatus; candidate?: Address; reviewer?: Address } = {}) {
      const qs = new URLSearchParams();
      if (q.status) qs.set('status', q.status);
      if (q.candidate) qs.set('candidate', getAddress(q.candidate));
      if (q.reviewer) qs.set('reviewer', getAddress(q.reviewer));
      const s = qs.toString();
      return transport
        .json<{ chainTime: number; applications: ApplicationSummary[] }>(
          'GET',
          `/v1/certification/applications${s ? `?${s}` : ''}`,
        )
        .then((r) => r.applications);
    },

    /** The cases where this identity is a drawn reviewer, newest first, with how far it got in each. */
    async reviews(q: { status?: ApplicationStatus } = {}) {
      const qs = new URLSearchParams({ reviewer: me, ...(q.status ? { status: q.status } : {}) });
      const r = await transport.json<{ chainTime: number; applications: ApplicationSummary[] }>(
        'GET',
        `/v1/certification/applications?${qs}`,
      );
      return r.applications;
    },

    /**
     * A drawn reviewer (or the candidate) opens a case's evidence: the sealed blob is checked against the evidence
     * digest on chain, then decrypted with the key wrapped for this identity.
     */
    async openEvidence(applicationId: number | bigint): Promise<Uint8Array> {
      const { dek, evidence } = await evidenceKey(applicationId);
      const res = await transport.raw(
        'GET',
        `/v1/certification/applications/${applicationId}/evidence/content`,
        {
          token: await deps.session(),
        },
      );
      const sealed = new Uint8Array(await res.arrayBuffer());
      if (sha256(sealed) !== evidence.toLowerCase())
        throw new MedblocApiError('DIGEST_MISMATCH', 0, 'the evidence does not match its digest on chain');
      return openBytes(sealed, dek);
    },

    /**
     * Commits a sealed vote. Returns the random salt: keep it — the reveal needs it, and nobody else has it. (Pass
     * `salt` to choose it, e.g. to store it safely before committing.)
     */
    async commitVote(applicationId: number | bigint, approve: boolean, o: { salt?: Hex } = {}) {
      const c = await contracts();
      const id = BigInt(applicationId);
      const salt = o.salt ?? bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
      const commitment = keccak256(encodeAbiParameters(voteCommitmentParameters, [id, me, approve, salt]));
      const message = {
        applicationId: id,
        reviewer: me,
        commitment,
        nonce: BigInt((await nonces()).peerReview),
        deadline: deps.deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: domainFor(c.chainId, c.peerReview),
        types: commitVoteTypes,
        primaryType: 'CommitVote',
        message,
      });
      const out = await transport.json<{ txHash: Hex }>(
        'POST',
        `/v1/certification/applications/${id}/commit`,
        { ...message, signature },
      );
      return { applicationId: Number(id), approve, salt, commitment, txHash: out.txHash };
    },

    /** Reveals the vote committed with `salt` (during the reveal window). */
    revealVote(applicationId: number | bigint, approve: boolean, salt: Hex) {
      return transport.json<{ txHash: Hex }>(
        'POST',
        `/v1/certification/applications/${applicationId}/reveal`,
        {
          reviewer: me,
          approve,
          salt,
        },
      );
    },

    /** After the reveal window (anyone): tally, settle stakes and bond, certify an approved candidate. */
    finalize(applicationId: number | bigint) {
      return transport.json<{ applicationId: number; status: ApplicationStatus; txHash: Hex }>(
        'POST',
        `/v1/certification/applications/${applicationId}/finalize`,
        {},
      );
    },

    /** Stakes `amount` of this identity's free MP points (whole points, or base units as a bigint). */
    async stake(amount: bigint | number | string) {
      const c = await contracts();
      const message = {
        holder: me,
        amount: tokenAmount(amount),
        nonce: BigInt((await nonces()).mpPoints),
        deadline: deps.deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: domainFor(c.chainId, c.mpPoints),
        types: stakeTypes,
        primaryType: 'Stake',
        message,
      });
      return transport.json<{ txHash: Hex }>('POST', '/v1/certification/stake', { ...message, signature });
    },

    /** The council's proposals (newest first) with the approvals of current members. */
    async councilProposals() {
      return (
        await transport.json<{
          proposals: {
            proposalId: number;
            kind: string;
            proposer: Address;
            data: Hex;
            executed: boolean;
            approvals: Address[];
            time: number;
          }[];
        }>('GET', '/v1/certification/council/proposals')
      ).proposals;
    },

    /** As a council member: propose adding an authority (executed at once if the threshold allows). Sends gas. */
    proposeAddAuthority(authority: Address) {
      return propose('proposeAddAuthority', [getAddress(authority)]);
    },

    /** As a council member: propose removing an authority. Sends gas. */
    proposeRemoveAuthority(authority: Address) {
      return propose('proposeRemoveAuthority', [getAddress(authority)]);
    },

    /** As a council member: change some certification parameters (the rest stay as they are). Sends gas. */
    async proposeParameters(changes: Partial<CouncilParameters>) {
      const { parameters: p } = await parameters();
      const merged = { ...p, ...changes };
      const big = (k: keyof CouncilParameters) => BigInt(merged[k] as string);
      return propose('proposeParameters', [
        {
          ...merged,
          reviewerStake: big('reviewerStake'),
          reviewReward: big('reviewReward'),
          certificationReward: big('certificationReward'),
          minBond: big('minBond'),
        },
      ]);
    },

    approveProposal,

    /** As an authority: mark (or unmark) `institution`, with a quota of staff it may certify. Sends gas. */
    async councilSetInstitution(institution: Address, o: { active?: boolean; staffQuota: number }) {
      const receipt = await councilSend('setInstitution', [
        getAddress(institution),
        o.active ?? true,
        o.staffQuota,
      ]);
      return { txHash: receipt.transactionHash };
    },

    /**
     * As an institution the council marked: certify one of its practitioners as a provider, within its quota and
     * the governed longest validity. Sends gas.
     */
    async certifyStaff(practitioner: Address, o: { credential?: string; expiresAt?: Date } = {}) {
      const expiresAt = BigInt(
        Math.floor((o.expiresAt ?? new Date(Date.now() + 180 * 86_400_000)).getTime() / 1000),
      );
      const credentialHash = keccak256(stringToBytes(o.credential ?? `staff:${practitioner}`));
      const receipt = await councilSend('certifyStaff', [
        getAddress(practitioner),
        credentialHash,
        expiresAt,
      ]);
      return { txHash: receipt.transactionHash };
    },

    /**
     * As a council member: certify `account` through the council (the account receives the MP certification
     * reward once per role, which it can stake to review). Sends gas.
     */
    async councilCertify(
      account: Address,
      o: { role?: CertifiableRole; credential?: string; expiresAt?: Date } = {},
    ) {
      const expiresAt = BigInt(
        Math.floor((o.expiresAt ?? new Date(Date.now() + 365 * 86_400_000)).getTime() / 1000),
      );
      const credentialHash = keccak256(stringToBytes(o.credential ?? `credential:${account}`));
      const receipt = await councilSend('certify', [
        getAddress(account),
        Role[o.role ?? 'provider'],
        credentialHash,
        `0x${'00'.repeat(32)}`,
        expiresAt,
      ]);
      return { txHash: receipt.transactionHash };
    },
  };
}

/** A council call's revert as a MedblocApiError with the contract's error name as its code. */
function councilError(err: unknown): MedblocApiError {
  const e = err as {
    shortMessage?: string;
    message?: string;
    walk?: (fn: (e: unknown) => boolean) => unknown;
  };
  const revert = e.walk?.((x) => (x as { data?: { errorName?: string } })?.data?.errorName !== undefined) as
    | { data?: { errorName?: string; args?: readonly unknown[] } }
    | undefined;
  const name = revert?.data?.errorName;
  if (name) {
    const code =
      name === 'AuthorityCouncilNotAuthority'
        ? 'NOT_AUTHORITY'
        : name === 'AccountRegistryNotRegistered'
          ? 'NOT_REGISTERED'
          : name === 'AuthorityCouncilUnknownProposal'
            ? 'PROPOSAL_NOT_FOUND'
            : name === 'AuthorityCouncilProposalClosed'
              ? 'PROPOSAL_CLOSED'
              : 'CHAIN_REVERTED';
    return new MedblocApiError(code, 422, `the council refused it: ${name}`, { contractError: name });
  }
  if (/insufficient funds|exceeds the balance/i.test(String(e.shortMessage ?? e.message)))
    return new MedblocApiError(
      'NO_GAS',
      0,
      'this account has no gas money for council transactions (on the embedded development chain: medbloc cert faucet)',
    );
  return new MedblocApiError('CHAIN_UNAVAILABLE', 0, String(e.shortMessage ?? e.message ?? err));
}
