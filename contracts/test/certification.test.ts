/**
 * Certification on a real anvil: the authority council (m-of-n), MP points, institutions and their staff, and peer
 * review by sealed ballot from application to certification, with the exact stakes, rewards, slashes and bonds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authorityCouncilAbi, medTokenAbi, mPPointsAbi, peerReviewAbi } from '@medbloc/contracts';
import { commitVoteTypes, domainFor, Role } from '@medbloc/core';
import {
  type Abi,
  type Address,
  encodeFunctionData,
  type Hex,
  keccak256,
  type PrivateKeyAccount,
  parseEventLogs,
  parseSignature,
  type TransactionReceipt,
  toHex,
} from 'viem';
import {
  type CertificationParameters,
  defaultCertificationParameters,
} from '../../packages/node/src/chain/deploy-certification.ts';
import {
  APPROVED,
  type CertificationFixture,
  DAY,
  MED,
  MP,
  NO_QUORUM,
  REJECTED,
  setupCertification,
} from './certification-fixture.ts';
import { type Fixture, HOUR, newUser, randomHash, revertsWith } from './fixture.ts';

const params: CertificationParameters = {
  ...defaultCertificationParameters,
  reviewSize: 5,
  quorum: 3,
  slashBps: 2_000,
  bondReturnBps: 5_000,
  commitWindow: Number(HOUR),
  revealWindow: Number(HOUR),
  maxStaffQuota: 10,
  maxStaffValidity: Number(30n * DAY),
  reviewerStake: MP(40),
  reviewReward: MP(5),
  certificationReward: MP(100),
  minBond: MED(50),
};
const SLASH = (MP(40) * 2_000n) / 10_000n; // 8 MP

let f: Fixture;
let c: CertificationFixture['c'];
let council: CertificationFixture['council'];
let points: CertificationFixture['points'];
let med: CertificationFixture['med'];
let review: CertificationFixture['review'];
let authorities: PrivateKeyAccount[];
let fund: CertificationFixture['fund'];
let user: CertificationFixture['user'];
let certifiedProvider: CertificationFixture['certifiedProvider'];
let stakeBySig: CertificationFixture['stakeBySig'];
let commitment: CertificationFixture['commitment'];
let signApply: CertificationFixture['signApply'];
let relayApplication: CertificationFixture['relay'];
let drawPanel: CertificationFixture['drawPanel'];
let balance: CertificationFixture['balance'];
let staked: CertificationFixture['staked'];
let medBalance: CertificationFixture['medBalance'];
const gas: Record<string, bigint> = {};

before(async () => {
  ({
    f,
    c,
    council,
    points,
    med,
    review,
    authorities,
    fund,
    user,
    certifiedProvider,
    stakeBySig,
    commitment,
    signApply,
    relay: relayApplication,
    drawPanel,
    balance,
    staked,
    medBalance,
  } = await setupCertification(params));
});
after(() => {
  if (Object.keys(gas).length > 0) console.log('certification gas:', gas);
  return f.stop();
});

/** A candidate with `balance` MED who signs a permit for `bond` and applies; the admin relays (pays the gas). */
async function applyWithPermit(candidate: PrivateKeyAccount, bond: bigint) {
  const s = await signApply(candidate, bond);
  const permitDeadline = await f.deadline();
  const permit = parseSignature(
    await candidate.signTypedData({
      domain: { name: 'MedBloc', version: '1', chainId: f.deployment.chainId, verifyingContract: c.medToken },
      types: {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      message: {
        owner: candidate.address,
        spender: c.peerReview,
        value: bond,
        nonce: await f.nonceOf(med, candidate.address),
        deadline: permitDeadline,
      },
    }),
  );
  const receipt = await relayApplication('applyWithPermitBySig', [
    ...s.args,
    { deadline: permitDeadline, v: Number(permit.v), r: permit.r, s: permit.s },
  ]);
  return { ...s, receipt, applicationId: submittedId(receipt) };
}

function submittedId(receipt: TransactionReceipt): bigint {
  const [event] = parseEventLogs({
    abi: peerReviewAbi,
    logs: receipt.logs,
    eventName: 'ApplicationSubmitted',
  });
  assert.ok(event);
  return event.args.applicationId;
}

describe('authority council', () => {
  test('adding and removing an authority needs m approvals; m-1 is not enough', async () => {
    const [a1, a2, a3] = authorities as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const board = newUser();
    await fund(board.address);
    const authorityRole = await f.read<Hex>(f.accounts, 'AUTHORITY_ROLE');
    for (const a of authorities)
      assert.equal(await f.read(f.accounts, 'hasRole', [authorityRole, a.address]), true);

    const proposed = await f.send(council, 'proposeAddAuthority', [board.address], a1);
    const [created] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: proposed.logs,
      eventName: 'ProposalCreated',
    });
    const id = created?.args.proposalId as bigint;
    await assert.rejects(
      f.send(council, 'execute', [id], a1),
      revertsWith('AuthorityCouncilNotEnoughApprovals'),
    );
    await assert.rejects(
      f.send(council, 'approve', [id], a1),
      revertsWith('AuthorityCouncilAlreadyApproved'),
    );
    await assert.rejects(
      f.send(council, 'approve', [id], board),
      revertsWith('AuthorityCouncilNotAuthority'),
    );
    await f.send(council, 'approve', [id], a2);
    assert.equal(await f.read(council, 'approvalCount', [id]), 2n);
    await f.send(council, 'execute', [id], a3);
    assert.equal(await f.read(council, 'isAuthority', [board.address]), true);
    assert.equal(await f.read(f.accounts, 'hasRole', [authorityRole, board.address]), true);
    await assert.rejects(f.send(council, 'execute', [id], a1), revertsWith('AuthorityCouncilProposalClosed'));

    const removal = await f.send(council, 'proposeRemoveAuthority', [board.address], a2);
    const [r] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: removal.logs,
      eventName: 'ProposalCreated',
    });
    const rid = r?.args.proposalId as bigint;
    await assert.rejects(
      f.send(council, 'execute', [rid], a2),
      revertsWith('AuthorityCouncilNotEnoughApprovals'),
    );
    await f.send(council, 'approve', [rid], board);
    await f.send(council, 'execute', [rid], a2);
    assert.equal(await f.read(council, 'isAuthority', [board.address]), false);
    assert.equal(await f.read(f.accounts, 'hasRole', [authorityRole, board.address]), false);
    assert.deepEqual(
      await f.read(council, 'authorities'),
      authorities.map((a) => a.address),
    );
  });

  test('a parameter change needs m approvals and is validated', async () => {
    const [a1, , a3] = authorities as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const changed = { ...params, reviewReward: MP(7), commitWindow: Number(2n * HOUR), treasury: c.council };
    await assert.rejects(
      f.send(council, 'proposeParameters', [{ ...changed, quorum: 6 }], a1),
      revertsWith('AuthorityCouncilInvalidParameters'),
    );
    const receipt = await f.send(council, 'proposeParameters', [changed], a1);
    const [created] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: receipt.logs,
      eventName: 'ProposalCreated',
    });
    const id = created?.args.proposalId as bigint;
    await assert.rejects(
      f.send(council, 'execute', [id], a1),
      revertsWith('AuthorityCouncilNotEnoughApprovals'),
    );
    assert.deepEqual(await f.read(council, 'parameters'), { ...params, treasury: c.council });
    await f.send(council, 'approve', [id], a3);
    await f.send(council, 'execute', [id], a1);
    assert.deepEqual(await f.read(council, 'parameters'), changed);

    // Back to the suite's parameters, through a governed threshold of 2 again.
    const back = await f.send(council, 'proposeParameters', [{ ...params, treasury: c.council }], a3);
    const [b] = parseEventLogs({ abi: authorityCouncilAbi, logs: back.logs, eventName: 'ProposalCreated' });
    await f.send(council, 'approve', [b?.args.proposalId as bigint], a1);
    await f.send(council, 'execute', [b?.args.proposalId as bigint], a1);
    assert.deepEqual(await f.read(council, 'parameters'), { ...params, treasury: c.council });
  });

  test('a governed call grants an MP role; proposals expire', async () => {
    const [a1, a2] = authorities as [PrivateKeyAccount, PrivateKeyAccount];
    const rule = newUser().address;
    const minter = keccak256(toHex('MINTER_ROLE'));
    const data = encodeFunctionData({ abi: mPPointsAbi, functionName: 'grantRole', args: [minter, rule] });
    const receipt = await f.send(council, 'proposeCall', [c.mpPoints, data], a1);
    const [created] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: receipt.logs,
      eventName: 'ProposalCreated',
    });
    await f.send(council, 'approve', [created?.args.proposalId as bigint], a2);
    await f.send(council, 'execute', [created?.args.proposalId as bigint], a2);
    assert.equal(await f.read(points, 'hasRole', [minter, rule]), true);

    const late = await f.send(council, 'proposeThreshold', [3n], a1);
    const [l] = parseEventLogs({ abi: authorityCouncilAbi, logs: late.logs, eventName: 'ProposalCreated' });
    await f.advance(8n * DAY);
    await assert.rejects(
      f.send(council, 'approve', [l?.args.proposalId as bigint], a2),
      revertsWith('AuthorityCouncilProposalClosed'),
    );
    assert.equal(await f.read(council, 'threshold'), 2n);
  });

  test('an authority certifies and revokes directly; others cannot', async () => {
    const provider = await user();
    const expiresAt = (await f.now()) + 30n * DAY;
    const credentialHash = randomHash();
    const evidencePointer = randomHash();
    const args = [provider.address, Role.provider, credentialHash, evidencePointer, expiresAt];
    await assert.rejects(
      f.send(council, 'certify', args, provider),
      revertsWith('AuthorityCouncilNotAuthority'),
    );
    const receipt = await f.send(council, 'certify', args, authorities[1]);
    const [event] = parseEventLogs({
      abi: authorityCouncilAbi,
      logs: receipt.logs,
      eventName: 'AuthorityCertified',
    });
    assert.deepEqual(event?.args, {
      account: provider.address,
      role: Role.provider,
      authority: authorities[1]?.address,
      credentialHash,
      evidencePointer,
      expiresAt,
    });
    assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), true);
    assert.equal(await balance(provider.address), params.certificationReward);
    await f.send(council, 'certify', [...args.slice(0, 4), expiresAt + DAY], authorities[0]);
    assert.equal(
      await balance(provider.address),
      params.certificationReward,
      'a renewal earns no more points',
    );
    await f.send(council, 'revokeCertification', [provider.address, Role.provider], authorities[2]);
    assert.equal(await f.read(f.accounts, 'isCertified', [provider.address, Role.provider]), false);
  });
});

describe('MP points', () => {
  test('are not transferable; stake and unstake move free points; only minters mint', async () => {
    const holder = await certifiedProvider();
    const other = newUser();
    const names = (mPPointsAbi as Abi).map((item) => ('name' in item ? item.name : ''));
    for (const name of ['transfer', 'transferFrom', 'approve', 'allowance'])
      assert.ok(!names.includes(name), name);
    const transfer = encodeFunctionData({
      abi: medTokenAbi,
      functionName: 'transfer',
      args: [other.address, MP(1)],
    });
    await assert.rejects(f.publicClient.call({ account: holder.address, to: c.mpPoints, data: transfer }));

    assert.equal(await balance(holder.address), MP(100));
    await f.send(points, 'stake', [MP(60)], holder);
    assert.equal(await staked(holder.address), MP(60));
    assert.equal(await f.read(points, 'freeBalanceOf', [holder.address]), MP(40));
    assert.equal(await balance(holder.address), MP(100));
    await assert.rejects(
      f.send(points, 'stake', [MP(41)], holder),
      revertsWith('MPPointsInsufficientPoints'),
    );
    await f.send(points, 'unstake', [MP(60)], holder);
    assert.equal(await staked(holder.address), 0n);
    await assert.rejects(
      f.send(points, 'mint', [holder.address, MP(1), toHex('x', { size: 32 })], holder),
      revertsWith('AccessControlUnauthorizedAccount'),
    );
    await assert.rejects(
      f.send(points, 'slash', [holder.address, 0n, toHex('x', { size: 32 })], holder),
      revertsWith('AccessControlUnauthorizedAccount'),
    );
  });
});

describe('institutions', () => {
  test('an institution certifies its staff within its quota, set by an authority under the governed cap', async () => {
    const institution = await user(Role.patient);
    const [p1, p2, p3] = [await user(), await user(), await user()];
    const expiresAt = (await f.now()) + 20n * DAY;
    await assert.rejects(
      f.send(council, 'certifyStaff', [p1.address, randomHash(), expiresAt], institution),
      revertsWith('AuthorityCouncilNotInstitution'),
    );
    await assert.rejects(
      f.send(council, 'setInstitution', [institution.address, true, 11], authorities[0]),
      revertsWith('AuthorityCouncilInvalidStaffQuota'),
    );
    await f.send(council, 'setInstitution', [institution.address, true, 2], authorities[0]);

    const receipt = await f.send(council, 'certifyStaff', [p1.address, randomHash(), expiresAt], institution);
    assert.equal(
      parseEventLogs({ abi: authorityCouncilAbi, logs: receipt.logs, eventName: 'StaffCertified' }).length,
      1,
    );
    await f.send(council, 'certifyStaff', [p2.address, randomHash(), expiresAt], institution);
    assert.equal(await f.read(f.accounts, 'isCertified', [p1.address, Role.provider]), true);
    assert.equal(await f.read(council, 'employerOf', [p2.address]), institution.address);
    await assert.rejects(
      f.send(council, 'certifyStaff', [p3.address, randomHash(), expiresAt], institution),
      revertsWith('AuthorityCouncilStaffQuotaExceeded'),
    );
    await assert.rejects(
      f.send(council, 'certifyStaff', [p3.address, randomHash(), (await f.now()) + 31n * DAY], institution),
      revertsWith('AuthorityCouncilInvalidExpiry'),
    );

    // Renewing its own staff does not count twice; revoking frees a place.
    await f.send(council, 'certifyStaff', [p1.address, randomHash(), expiresAt + 1n], institution);
    assert.deepEqual(await f.read(council, 'institutionOf', [institution.address]), [true, 2, 2]);
    await f.send(council, 'revokeStaff', [p1.address], institution);
    assert.equal(await f.read(f.accounts, 'isCertified', [p1.address, Role.provider]), false);
    await f.send(council, 'certifyStaff', [p3.address, randomHash(), expiresAt], institution);
    assert.deepEqual(await f.read(council, 'institutionOf', [institution.address]), [true, 2, 2]);

    // Nobody else's staff, and no one certified elsewhere.
    const other = await user(Role.patient);
    await f.send(council, 'setInstitution', [other.address, true, 5], authorities[1]);
    await assert.rejects(
      f.send(council, 'revokeStaff', [p2.address], other),
      revertsWith('AuthorityCouncilNotStaff'),
    );
    await assert.rejects(
      f.send(council, 'certifyStaff', [p2.address, randomHash(), expiresAt], other),
      revertsWith('AuthorityCouncilAlreadyCertified'),
    );
  });
});

describe('peer review', () => {
  let pool: PrivateKeyAccount[];
  const byAddress = new Map<Address, PrivateKeyAccount>();

  before(async () => {
    // Six certified, staked providers (each staked its 100 MP certification reward): five are drawn per case.
    pool = [];
    for (let i = 0; i < 6; i++) {
      const p = await certifiedProvider();
      await stakeBySig(p, MP(100));
      pool.push(p);
      byAddress.set(p.address, p);
    }
  });

  /** Draws the panel (anyone may, from the block after the application) and returns it. */
  async function drawn(applicationId: bigint) {
    const { receipt } = await drawPanel(applicationId);
    gas.draw ??= receipt.gasUsed;
    const reviewers = await f.read<Address[]>(review, 'reviewersOf', [applicationId]);
    assert.equal(reviewers.length, 5);
    assert.equal(new Set(reviewers).size, 5);
    return reviewers.map((a) => byAddress.get(a) as PrivateKeyAccount);
  }

  async function commit(applicationId: bigint, reviewer: PrivateKeyAccount, approve: boolean) {
    const salt = randomHash();
    const receipt = await f.send(
      review,
      'commitVote',
      [applicationId, commitment(applicationId, reviewer.address, approve, salt)],
      reviewer,
    );
    return { reviewer, approve, salt, receipt };
  }

  test('a candidate is certified by the majority; majority rewarded, minority and non-revealer slashed', async () => {
    const candidate = await user();
    await f.send(med, 'transfer', [candidate.address, MED(100)]);
    const before = new Map<Address, bigint>();
    for (const p of pool) before.set(p.address, await balance(p.address));

    const app = await applyWithPermit(candidate, MED(50));
    gas.applyWithPermitBySig = app.receipt.gasUsed;
    const id = app.applicationId;
    assert.equal(await medBalance(candidate.address), MED(50));
    assert.equal(await medBalance(c.peerReview), MED(50));
    const reviewers = await drawn(id);
    for (const r of reviewers) assert.equal(await f.read(points, 'lockedOf', [r.address]), MP(40));
    const outsider = pool.find((p) => !reviewers.includes(p)) as PrivateKeyAccount;
    const [r0, r1, r2, r3, r4] = reviewers as [
      PrivateKeyAccount,
      PrivateKeyAccount,
      PrivateKeyAccount,
      PrivateKeyAccount,
      PrivateKeyAccount,
    ];

    // A locked stake cannot leave before the case is settled.
    await assert.rejects(f.send(points, 'unstake', [MP(61)], r0), revertsWith('MPPointsInsufficientStake'));

    const v0 = await commit(id, r0, true);
    gas.commitVote = v0.receipt.gasUsed;
    const v1 = await commit(id, r1, true);
    // r2 commits through a relayer on its CommitVote signature.
    const salt2 = randomHash();
    const c2 = commitment(id, r2.address, true, salt2);
    const message = {
      applicationId: id,
      reviewer: r2.address,
      commitment: c2,
      nonce: await f.nonceOf(review, r2.address),
      deadline: await f.deadline(),
    };
    const sig = await r2.signTypedData({
      domain: domainFor(f.deployment.chainId, c.peerReview),
      types: commitVoteTypes,
      primaryType: 'CommitVote',
      message,
    });
    const relayed = await f.send(review, 'commitVoteBySig', [id, r2.address, c2, message.deadline, sig]);
    gas.commitVoteBySig = relayed.gasUsed;
    const v3 = await commit(id, r3, false);
    await commit(id, r4, true); // never revealed

    await assert.rejects(commit(id, r0, false), revertsWith('PeerReviewAlreadyCommitted'));
    await assert.rejects(commit(id, outsider, true), revertsWith('PeerReviewNotReviewer'));
    await assert.rejects(
      f.send(review, 'revealVote', [id, true, v0.salt], r0),
      revertsWith('PeerReviewRevealNotOpen'),
    );
    await assert.rejects(
      relayApplication('applyBySig', app.args),
      revertsWith('PeerReviewInvalidSignature'),
      'a replayed application',
    );

    await f.advance(HOUR + 1n);
    const late = newUser();
    await assert.rejects(commit(id, r4, false), revertsWith('PeerReviewCommitClosed'));
    await assert.rejects(
      f.send(review, 'revealVote', [id, true, randomHash()], r0),
      revertsWith('PeerReviewInvalidReveal'),
    );
    await assert.rejects(
      f.send(review, 'revealVote', [id, false, v0.salt], r0),
      revertsWith('PeerReviewInvalidReveal'),
      'the salt with the other vote',
    );
    const revealed = await f.send(review, 'revealVote', [id, true, v0.salt], r0);
    gas.revealVote = revealed.gasUsed;
    await assert.rejects(
      f.send(review, 'revealVote', [id, true, v0.salt], r0),
      revertsWith('PeerReviewNotCommitted'),
    );
    await f.send(review, 'revealVote', [id, true, v1.salt], r1);
    await f.send(review, 'revealVoteFor', [id, r2.address, true, salt2]); // relayed reveal
    await f.send(review, 'revealVote', [id, false, v3.salt], r3);
    assert.deepEqual(await f.read(review, 'ballotOf', [id, r3.address]), [
      3,
      false,
      commitment(id, r3.address, false, v3.salt),
    ]);
    await assert.rejects(f.send(review, 'finalize', [id], late), revertsWith('PeerReviewRevealOpen'));

    await f.advance(HOUR);
    const receipt = await f.send(review, 'finalize', [id]);
    gas.finalize = receipt.gasUsed;
    const [done] = parseEventLogs({
      abi: peerReviewAbi,
      logs: receipt.logs,
      eventName: 'ApplicationFinalized',
    });
    assert.deepEqual(done?.args, {
      applicationId: id,
      status: APPROVED,
      approvals: 3,
      rejections: 1,
      bondReturned: MED(50),
      bondForfeited: 0n,
    });

    // Certified by peer review, with the candidate's credential and the governed validity.
    assert.equal(await f.read(f.accounts, 'isCertified', [candidate.address, Role.provider]), true);
    const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    assert.deepEqual(await f.read(f.accounts, 'certificationOf', [candidate.address, Role.provider]), [
      c.peerReview,
      app.credentialHash,
      block.timestamp + BigInt(params.certificationValidity),
      false,
    ]);
    assert.equal(await medBalance(candidate.address), MED(100));
    assert.equal(await medBalance(c.peerReview), 0n);
    assert.equal(await balance(candidate.address), params.certificationReward);

    // Exact settlement: +5 MP to the three in the majority, -8 MP (20% of the 40 locked) to the minority and to r4.
    for (const r of [r0, r1, r2]) {
      assert.equal(await balance(r.address), (before.get(r.address) as bigint) + MP(5));
      assert.equal(await staked(r.address), MP(100));
    }
    for (const r of [r3, r4]) {
      assert.equal(await balance(r.address), (before.get(r.address) as bigint) - SLASH);
      assert.equal(await staked(r.address), MP(100) - SLASH);
    }
    assert.equal(await balance(outsider.address), before.get(outsider.address));
    for (const p of pool) assert.equal(await f.read(points, 'lockedOf', [p.address]), 0n);
    const slashes = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs, eventName: 'ReviewerSlashed' });
    assert.deepEqual(
      slashes.map((e) => [e.args.reviewer, e.args.amount, e.args.revealed]),
      [
        [r3.address, SLASH, true],
        [r4.address, SLASH, false],
      ],
    );
    await assert.rejects(f.send(review, 'finalize', [id]), revertsWith('PeerReviewNotPending'));
  });

  test('a rejected candidate is not certified and forfeits half its bond to the treasury', async () => {
    const candidate = await user();
    await f.send(med, 'transfer', [candidate.address, MED(100)]);
    await f.send(med, 'approve', [c.peerReview, MED(60)], candidate);
    const s = await signApply(candidate, MED(60));
    const applied = await relayApplication('applyBySig', s.args);
    gas.applyBySig = applied.gasUsed;
    const id = submittedId(applied);
    const reviewers = await drawn(id);
    const before = new Map<Address, bigint>();
    for (const r of reviewers) before.set(r.address, await balance(r.address));
    const treasury = await medBalance(c.council);

    const votes = [];
    for (const [i, r] of reviewers.entries()) votes.push(await commit(id, r, i >= 3));
    await f.advance(HOUR + 1n);
    for (const v of votes) await f.send(review, 'revealVote', [id, v.approve, v.salt], v.reviewer);
    await f.advance(HOUR);
    const receipt = await f.send(review, 'finalize', [id]);
    const [done] = parseEventLogs({
      abi: peerReviewAbi,
      logs: receipt.logs,
      eventName: 'ApplicationFinalized',
    });
    assert.equal(done?.args.status, REJECTED);
    assert.equal(done?.args.bondReturned, MED(30));
    assert.equal(done?.args.bondForfeited, MED(30));

    assert.equal(await f.read(f.accounts, 'isCertified', [candidate.address, Role.provider]), false);
    assert.equal(await medBalance(candidate.address), MED(70));
    assert.equal(await medBalance(c.council), treasury + MED(30));
    assert.equal(await balance(candidate.address), 0n);
    for (const [i, r] of reviewers.entries()) {
      const expected =
        i < 3 ? (before.get(r.address) as bigint) + MP(5) : (before.get(r.address) as bigint) - SLASH;
      assert.equal(await balance(r.address), expected);
    }
  });

  test('without a quorum of reveals nothing is decided: the bond is refunded and every reviewer slashed', async () => {
    const candidate = await user(Role.researcher);
    await f.send(med, 'transfer', [candidate.address, MED(50)]);
    await f.send(med, 'approve', [c.peerReview, MED(50)], candidate);
    await assert.rejects(
      relayApplication('applyBySig', (await signApply(candidate, MED(49), Role.researcher)).args),
      revertsWith('PeerReviewBondTooLow'),
    );
    await assert.rejects(
      relayApplication('applyBySig', (await signApply(candidate, MED(50), Role.patient)).args),
      revertsWith('PeerReviewInvalidRole'),
    );
    const id = submittedId(
      await relayApplication('applyBySig', (await signApply(candidate, MED(50), Role.researcher)).args),
    );
    const reviewers = await drawn(id);
    const before = await Promise.all(reviewers.map((r) => balance(r.address)));
    const v = await commit(id, reviewers[0] as PrivateKeyAccount, true);
    await f.advance(HOUR + 1n);
    await f.send(review, 'revealVote', [id, true, v.salt], v.reviewer);
    await f.advance(HOUR);
    const anyone = newUser();
    await fund(anyone.address);
    const receipt = await f.send(review, 'finalize', [id], anyone);
    const [done] = parseEventLogs({
      abi: peerReviewAbi,
      logs: receipt.logs,
      eventName: 'ApplicationFinalized',
    });
    assert.equal(done?.args.status, NO_QUORUM);
    assert.equal(await medBalance(candidate.address), MED(50));
    assert.equal(await f.read(f.accounts, 'isCertified', [candidate.address, Role.researcher]), false);
    for (const [i, r] of reviewers.entries()) {
      const expected = i === 0 ? before[i] : (before[i] as bigint) - SLASH;
      assert.equal(await balance(r.address), expected);
    }
  });
});
