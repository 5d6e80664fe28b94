/**
 * Certification test fixture: a fresh anvil with MedBloc and the certification contracts deployed under given
 * parameters (a 2-of-3 council), a pool of certified, staked providers, and helpers that open, draw, vote on and
 * finalise peer-review cases as users and a relaying node would.
 */
import assert from 'node:assert/strict';
import { authorityCouncilAbi, medTokenAbi, mPPointsAbi, peerReviewAbi } from '@medbloc/contracts';
import {
  applyForCertificationTypes,
  domainFor,
  Role,
  stakeTypes,
  voteCommitmentParameters,
} from '@medbloc/core';
import {
  type Abi,
  type Address,
  createTestClient,
  createWalletClient,
  encodeAbiParameters,
  type Hex,
  http,
  keccak256,
  type PrivateKeyAccount,
  parseEther,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import {
  type CertificationParameters,
  defaultCertificationParameters,
  deployCertification,
} from '../../packages/node/src/chain/deploy-certification.ts';
import { HOUR, newUser, randomHash, setup } from './fixture.ts';

export const MP = (n: number | string) => parseEther(String(n));
export const MED = MP;
export const DAY = 24n * HOUR;
export const PENDING = 1;
export const APPROVED = 2;
export const REJECTED = 3;
export const NO_QUORUM = 4;
export const APPLY = 0;
export const RENEWAL = 1;
export const CHALLENGE = 2;
export const APPEAL = 3;

/** Suite parameters: short windows, small panels; amounts chosen so every split is exact. */
export const testParameters: CertificationParameters = {
  ...defaultCertificationParameters,
  reviewSize: 3,
  quorum: 2,
  slashBps: 2_500,
  bondReturnBps: 4_000,
  commitWindow: Number(HOUR),
  revealWindow: Number(HOUR),
  certificationValidity: Number(100n * DAY),
  reviewerStake: MP(20),
  reviewReward: MP(3),
  certificationReward: MP(100),
  minBond: MED(50),
};

export interface Vote {
  reviewer: PrivateKeyAccount;
  approve: boolean;
  /** Default true. */
  commit?: boolean;
  /** Default true (when committed). */
  reveal?: boolean;
}

export async function setupCertification(parameters: CertificationParameters = testParameters) {
  const f = await setup();
  const transport = http(f.anvil.rpcUrl);
  const testClient = createTestClient({ mode: 'anvil', transport });
  const relayer = createWalletClient({ account: f.admin, transport });
  const fund = (who: Address) => testClient.setBalance({ address: who, value: parseEther('10') });
  const authorities = [newUser(), newUser(), newUser()];
  for (const a of authorities) await fund(a.address);
  const c = await deployCertification({
    publicClient: f.publicClient,
    walletClient: relayer,
    accountRegistry: f.deployment.accountRegistry,
    authorities: authorities.map((a) => a.address),
    threshold: 2,
    parameters,
  });
  const council = { address: c.council, abi: authorityCouncilAbi as Abi };
  const points = { address: c.mpPoints, abi: mPPointsAbi as Abi };
  const med = { address: c.medToken, abi: medTokenAbi as Abi };
  const review = { address: c.peerReview, abi: peerReviewAbi as Abi };
  const byAddress = new Map<Address, PrivateKeyAccount>();
  let current = { ...parameters, treasury: c.council };

  /** A registered user with some ETH for the transactions it sends itself. */
  async function user(roles: number = Role.provider): Promise<PrivateKeyAccount> {
    const u = newUser();
    await f.register(u, roles);
    await fund(u.address);
    byAddress.set(u.address, u);
    return u;
  }

  /** Certified by an authority through the council (earns the certification reward once). */
  async function certifiedProvider(validFor: bigint = 365n * DAY): Promise<PrivateKeyAccount> {
    const u = await user();
    await f.send(
      council,
      'certify',
      [u.address, Role.provider, randomHash(), randomHash(), (await f.now()) + validFor],
      authorities[0],
    );
    return u;
  }

  async function stakeBySig(holder: PrivateKeyAccount, amount: bigint) {
    const message = {
      holder: holder.address,
      amount,
      nonce: await f.nonceOf(points, holder.address),
      deadline: await f.deadline(),
    };
    const signature = await holder.signTypedData({
      domain: domainFor(f.deployment.chainId, c.mpPoints),
      types: stakeTypes,
      primaryType: 'Stake',
      message,
    });
    return f.send(points, 'stakeBySig', [holder.address, amount, message.deadline, signature]);
  }

  /** `n` certified providers, each staking its whole certification reward. */
  async function stakedPool(n: number): Promise<PrivateKeyAccount[]> {
    const pool: PrivateKeyAccount[] = [];
    for (let i = 0; i < n; i++) {
      const p = await certifiedProvider();
      await stakeBySig(p, current.certificationReward);
      pool.push(p);
    }
    return pool;
  }

  /** The council changes the parameters (proposed by one authority, approved and executed by another). */
  async function setParameters(changes: Partial<CertificationParameters>) {
    const next = { ...current, ...changes };
    const receipt = await f.send(council, 'proposeParameters', [next], authorities[0]);
    const [created] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: receipt.logs,
      eventName: 'ProposalCreated',
    });
    await f.send(council, 'approve', [created?.args.proposalId as bigint], authorities[1]);
    await f.send(council, 'execute', [created?.args.proposalId as bigint], authorities[1]);
    current = next;
  }

  /** Gives `who` `amount` MED from the admin's supply and approves peer review for it. */
  async function bondFrom(who: PrivateKeyAccount, amount: bigint) {
    await f.send(med, 'transfer', [who.address, amount]);
    await f.send(med, 'approve', [c.peerReview, amount], who);
  }

  /** Relays with a gas margin, as a node would; asserts success on chain. */
  async function relay(
    functionName: string,
    args: readonly unknown[],
    opts: { pending?: boolean } = {},
  ): Promise<TransactionReceipt> {
    const estimate = await f.publicClient.estimateContractGas({
      ...review,
      functionName,
      args,
      account: f.admin,
      ...(opts.pending ? { blockTag: 'pending' } : {}),
    } as never);
    const hash = await relayer.writeContract({
      ...review,
      functionName,
      args,
      gas: (estimate * 5n) / 4n,
    } as never);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    assert.equal(receipt.status, 'success', `${functionName} reverted on chain`);
    return receipt;
  }

  async function signApply(candidate: PrivateKeyAccount, bond: bigint, role: number = Role.provider) {
    const message = {
      candidate: candidate.address,
      role,
      credentialHash: randomHash(),
      evidencePointer: randomHash(),
      bond,
      nonce: await f.nonceOf(review, candidate.address),
      deadline: await f.deadline(),
    };
    const signature = await candidate.signTypedData({
      domain: domainFor(f.deployment.chainId, c.peerReview),
      types: applyForCertificationTypes,
      primaryType: 'ApplyForCertification',
      message,
    });
    const args = [
      candidate.address,
      role,
      message.credentialHash,
      message.evidencePointer,
      bond,
      message.deadline,
      signature,
    ] as const;
    return { ...message, signature, args };
  }

  function opened(receipt: TransactionReceipt) {
    const [event] = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs, eventName: 'CaseOpened' });
    assert.ok(event, 'CaseOpened emitted');
    return event.args;
  }

  /** The candidate bonds and signs; the node relays `applyBySig`. */
  async function apply(
    candidate: PrivateKeyAccount,
    bond: bigint = current.minBond,
    role: number = Role.provider,
  ) {
    await bondFrom(candidate, bond);
    const s = await signApply(candidate, bond, role);
    const receipt = await relay('applyBySig', s.args);
    return { ...s, receipt, id: opened(receipt).applicationId, kind: opened(receipt).kind };
  }

  async function challenge(
    challenger: PrivateKeyAccount,
    subject: Address,
    bond: bigint = current.minBond,
    role: number = Role.provider,
  ) {
    await bondFrom(challenger, bond);
    const evidenceHash = randomHash();
    const receipt = await f.send(review, 'challenge', [subject, role, evidenceHash, bond], challenger);
    return { receipt, evidenceHash, id: opened(receipt).applicationId };
  }

  async function appeal(appellant: PrivateKeyAccount, applicationId: bigint, bond: bigint) {
    await bondFrom(appellant, bond);
    const receipt = await f.send(review, 'appeal', [applicationId], appellant);
    return { receipt, id: opened(receipt).applicationId };
  }

  /** Draws the panel (estimated against the pending block: the draw needs the block after the opening). */
  async function drawPanel(applicationId: bigint) {
    const receipt = await relay('draw', [applicationId], { pending: true });
    const reviewers = await f.read<Address[]>(review, 'reviewersOf', [applicationId]);
    return { receipt, reviewers: reviewers.map((a) => byAddress.get(a) as PrivateKeyAccount) };
  }

  function commitment(applicationId: bigint, reviewer: Address, approve: boolean, salt: Hex): Hex {
    return keccak256(encodeAbiParameters(voteCommitmentParameters, [applicationId, reviewer, approve, salt]));
  }

  /**
   * Runs a drawn case to its end: commits, the commit window passes, reveals, the reveal window passes, and anyone
   * (a fresh account) finalises. Returns the finalisation receipt and the salts used.
   */
  async function vote(applicationId: bigint, votes: readonly Vote[]) {
    const a = await f.read<{ commitEnd: bigint; revealEnd: bigint }>(review, 'applicationOf', [
      applicationId,
    ]);
    const salts = new Map<Address, Hex>();
    const receipts: TransactionReceipt[] = [];
    for (const v of votes) {
      if (v.commit === false) continue;
      const salt = randomHash();
      salts.set(v.reviewer.address, salt);
      receipts.push(
        await f.send(
          review,
          'commitVote',
          [applicationId, commitment(applicationId, v.reviewer.address, v.approve, salt)],
          v.reviewer,
        ),
      );
    }
    await f.advance(a.commitEnd - (await f.now()) + 1n);
    for (const v of votes) {
      if (v.commit === false || v.reveal === false) continue;
      receipts.push(
        await f.send(
          review,
          'revealVote',
          [applicationId, v.approve, salts.get(v.reviewer.address)],
          v.reviewer,
        ),
      );
    }
    await f.advance(a.revealEnd - (await f.now()) + 1n);
    const anyone = newUser();
    await fund(anyone.address);
    const receipt = await f.send(review, 'finalize', [applicationId], anyone);
    const [done] = parseEventLogs({
      abi: peerReviewAbi,
      logs: receipt.logs,
      eventName: 'ApplicationFinalized',
    });
    assert.ok(done);
    return { receipt, done: done.args, salts, receipts };
  }

  const balance = (who: Address) => f.read<bigint>(points, 'balanceOf', [who]);
  const staked = (who: Address) => f.read<bigint>(points, 'stakedOf', [who]);
  const medBalance = (who: Address) => f.read<bigint>(med, 'balanceOf', [who]);
  const isCertified = (who: Address, role: number = Role.provider) =>
    f.read<boolean>(f.accounts, 'isCertified', [who, role]);
  const certificationOf = async (who: Address, role: number = Role.provider) => {
    const [issuer, credentialHash, expiresAt, revoked] = await f.read<[Address, Hex, bigint, boolean]>(
      f.accounts,
      'certificationOf',
      [who, role],
    );
    return { issuer, credentialHash, expiresAt, revoked };
  };
  const applicationOf = (id: bigint) => f.read<Record<string, unknown>>(review, 'applicationOf', [id]);

  return {
    f,
    c,
    council,
    points,
    med,
    review,
    authorities,
    relayer,
    testClient,
    fund,
    user,
    certifiedProvider,
    stakeBySig,
    stakedPool,
    setParameters,
    parameters: () => current,
    bondFrom,
    relay,
    signApply,
    apply,
    challenge,
    appeal,
    drawPanel,
    commitment,
    vote,
    balance,
    staked,
    medBalance,
    isCertified,
    certificationOf,
    applicationOf,
    byAddress,
  };
}

export type CertificationFixture = Awaited<ReturnType<typeof setupCertification>>;
