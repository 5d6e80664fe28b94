/**
 * Peer-review cases on a real anvil beyond the first application: renewal, challenge, appeal, the draw from the
 * application block's hash, the stated rules for ties and too few reviewers, ballot rules (no double vote, no vote on
 * one's own case, no reveal of another vote, copied reveals change nothing), a stalling reviewer, and the effect of a
 * revoked or expired certification on anchoring records for others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { peerReviewAbi } from '@medbloc/contracts';
import {
  appealDecisionTypes,
  batchLeafOf,
  buildMerkleTree,
  challengeCertificationTypes,
  domainFor,
  Role,
  ZERO_HASH,
} from '@medbloc/core';
import {
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type PrivateKeyAccount,
  parseEventLogs,
} from 'viem';
import {
  APPEAL,
  APPLY,
  APPROVED,
  type CertificationFixture,
  CHALLENGE,
  DAY,
  MED,
  NO_QUORUM,
  REJECTED,
  RENEWAL,
  setupCertification,
  testParameters,
} from './certification-fixture.ts';
import { HOUR, newUser, randomHash, revertsWith } from './fixture.ts';

const P = testParameters;
const SLASH = (P.reviewerStake * BigInt(P.slashBps)) / 10_000n; // 5 MP
const VALIDITY = BigInt(P.certificationValidity);

let x: CertificationFixture;
let pool: PrivateKeyAccount[];

before(async () => {
  x = await setupCertification();
  pool = await x.stakedPool(8);
});
after(() => x.f.stop());

const yes = (reviewers: PrivateKeyAccount[]) => reviewers.map((reviewer) => ({ reviewer, approve: true }));
const no = (reviewers: PrivateKeyAccount[]) => reviewers.map((reviewer) => ({ reviewer, approve: false }));

/** `creator` anchors a new record for `owner` (relayed); resolves or rejects with the contract's error. */
async function anchorFor(creator: PrivateKeyAccount, owner: Address) {
  const s = await x.f.signAnchor(creator, {
    owner,
    creator: creator.address,
    digest: randomHash(),
    keyCommitment: randomHash(),
    supersedes: `0x${'0'.repeat(64)}` as Hex,
  });
  return x.f.send(x.f.records, 'anchorBySig', s.args);
}

describe('renewal', () => {
  test('a live certification renewed by peers is extended from its old expiry; no second reward', async () => {
    const holder = await x.certifiedProvider(50n * DAY);
    const before = await x.certificationOf(holder.address);
    const points = await x.balance(holder.address);
    const app = await x.apply(holder);
    assert.equal(app.kind, RENEWAL);
    const { reviewers } = await x.drawPanel(app.id);
    assert.ok(!reviewers.some((r) => r?.address === holder.address));
    const { done } = await x.vote(app.id, yes(reviewers));
    assert.equal(done.status, APPROVED);
    const after = await x.certificationOf(holder.address);
    assert.equal(after.expiresAt, before.expiresAt + VALIDITY);
    assert.equal(after.issuer, x.c.peerReview);
    assert.equal(after.credentialHash, app.credentialHash);
    assert.equal(await x.balance(holder.address), points, 'a renewal earns no certification reward');
  });

  test('shortly after expiry it is still a renewal (from now); past the grace period a fresh application', async () => {
    const lapsed = await x.certifiedProvider(2n * DAY);
    const gone = await x.certifiedProvider(2n * DAY);
    await x.f.advance(3n * DAY);
    assert.equal(await x.isCertified(lapsed.address), false);
    const renewal = await x.apply(lapsed);
    assert.equal(renewal.kind, RENEWAL);
    const { reviewers } = await x.drawPanel(renewal.id);
    const { receipt } = await x.vote(renewal.id, yes(reviewers));
    const block = await x.f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    assert.equal((await x.certificationOf(lapsed.address)).expiresAt, block.timestamp + VALIDITY);
    assert.equal(await x.isCertified(lapsed.address), true);

    await x.f.advance(28n * DAY); // `gone` expired 29 days ago
    const stillRenewal = await x.apply(gone);
    assert.equal(stillRenewal.kind, RENEWAL);
    const late = await x.certifiedProvider(1n * DAY);
    await x.f.advance(32n * DAY);
    const fresh = await x.apply(late);
    assert.equal(fresh.kind, APPLY);
    // Close both cases (no panel drawn in the commit window): refunded, nothing decided.
    await x.f.advance(3n * HOUR);
    for (const id of [stillRenewal.id, fresh.id]) {
      const r = await x.f.send(x.review, 'finalize', [id]);
      const [done] = parseEventLogs({ abi: peerReviewAbi, logs: r.logs, eventName: 'ApplicationFinalized' });
      assert.equal(done?.args.status, NO_QUORUM);
    }
  });
  test('an authority revocation during a renewal wins: the approved renewal does not reinstate', async () => {
    const holder = await x.certifiedProvider(50n * DAY);
    const app = await x.apply(holder);
    assert.equal(app.kind, RENEWAL);
    const { reviewers } = await x.drawPanel(app.id);
    await x.f.send(x.council, 'revokeCertification', [holder.address, Role.provider], x.authorities[1]);
    const { done } = await x.vote(app.id, yes(reviewers));
    assert.equal(done.status, APPROVED);
    assert.equal(done.bondReturned, P.minBond);
    assert.equal((await x.certificationOf(holder.address)).revoked, true);
    assert.equal(await x.isCertified(holder.address), false);
  });
});

describe('challenge', () => {
  test('upheld: the subject is revoked, cannot anchor for others, and the challenger gets its bond back', async () => {
    const subject = await x.certifiedProvider();
    const patient = await x.user(Role.patient);
    await anchorFor(subject, patient.address); // while certified
    const challenger = pool[0] as PrivateKeyAccount;
    const treasury = await x.medBalance(x.c.council);
    const medBefore = await x.medBalance(challenger.address);
    const opened = await x.challenge(challenger, subject.address, MED(80));
    assert.equal(await x.medBalance(challenger.address), medBefore);
    const [event] = parseEventLogs({
      abi: peerReviewAbi,
      logs: opened.receipt.logs,
      eventName: 'CaseOpened',
    });
    assert.equal(event?.args.kind, CHALLENGE);
    assert.equal(event?.args.subject, subject.address);
    const [submitted] = parseEventLogs({
      abi: peerReviewAbi,
      logs: opened.receipt.logs,
      eventName: 'ApplicationSubmitted',
    });
    assert.equal(submitted?.args.candidate, challenger.address);
    assert.equal(submitted?.args.evidencePointer, opened.evidenceHash);
    assert.equal(await x.f.read(x.review, 'openCaseOf', [subject.address, Role.provider]), opened.id);

    const { reviewers } = await x.drawPanel(opened.id);
    assert.ok(!reviewers.some((r) => r?.address === challenger.address || r?.address === subject.address));
    for (const party of [challenger, subject])
      await assert.rejects(
        x.f.send(x.review, 'commitVote', [opened.id, randomHash()], party),
        revertsWith('PeerReviewNotReviewer'),
        'no vote on a case one is party to',
      );
    const { done } = await x.vote(opened.id, yes(reviewers));
    assert.equal(done.status, APPROVED);
    assert.equal(done.bondReturned, MED(80));
    assert.equal(done.bondForfeited, 0n);
    assert.equal(await x.medBalance(challenger.address), medBefore + MED(80));
    assert.equal(await x.medBalance(x.c.council), treasury);
    assert.equal(await x.isCertified(subject.address), false);
    assert.equal((await x.certificationOf(subject.address)).revoked, true);
    assert.equal(await x.f.read(x.review, 'openCaseOf', [subject.address, Role.provider]), 0n);
    await assert.rejects(
      anchorFor(subject, patient.address),
      revertsWith('RecordRegistryCreatorNotCertified'),
    );
    // Nor in a batch: the batch is recorded as by an uncertified creator, so its leaves for others do not verify.
    const leaf = {
      owner: patient.address,
      creator: subject.address,
      digest: randomHash(),
      keyCommitment: randomHash(),
      supersedes: ZERO_HASH,
    };
    const own = { ...leaf, owner: subject.address, digest: randomHash() };
    const tree = buildMerkleTree([leaf, own].map(batchLeafOf));
    const b = await x.f.signBatch(subject, { root: tree.root, count: 2, manifest: randomHash() });
    await x.f.send(x.f.records, 'anchorBatchBySig', b.args);
    const verify = (a: typeof leaf, i: number) =>
      x.f.read<boolean>(x.f.records, 'verifyBatched', [
        tree.root,
        a.owner,
        a.creator,
        a.digest,
        a.keyCommitment,
        a.supersedes,
        tree.proof(i),
      ]);
    assert.equal(await verify(leaf, 0), false, "a revoked provider's record for a patient");
    assert.equal(await verify(own, 1), true, 'its own record still verifies');
  });

  test('rejected: the challenger forfeits its bond as a rejected candidate would; the subject stays', async () => {
    const subject = await x.certifiedProvider();
    const challenger = pool[1] as PrivateKeyAccount;
    const bond = MED(60);
    await x.bondFrom(challenger, bond);
    const medBefore = await x.medBalance(challenger.address);
    const treasury = await x.medBalance(x.c.council);
    const evidenceHash = randomHash();
    const message = {
      challenger: challenger.address,
      subject: subject.address,
      role: Role.provider,
      evidenceHash,
      bond,
      nonce: await x.f.nonceOf(x.review, challenger.address),
      deadline: await x.f.deadline(),
    };
    const signature = await challenger.signTypedData({
      domain: domainFor(x.f.deployment.chainId, x.c.peerReview),
      types: challengeCertificationTypes,
      primaryType: 'ChallengeCertification',
      message,
    });
    const args = [challenger.address, subject.address, Role.provider, evidenceHash, bond, message.deadline];
    await assert.rejects(
      x.relay('challengeBySig', [...args.slice(0, 4), MED(61), message.deadline, signature]),
      revertsWith('PeerReviewInvalidSignature'),
    );
    const receipt = await x.relay('challengeBySig', [...args, signature]); // relayed: the challenger pays no gas
    const [opened] = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs, eventName: 'CaseOpened' });
    const id = opened?.args.applicationId as bigint;

    // One open case per subject and role: no second challenge, no renewal meanwhile.
    const other = pool[2] as PrivateKeyAccount;
    await x.bondFrom(other, MED(50));
    await assert.rejects(
      x.f.send(x.review, 'challenge', [subject.address, Role.provider, randomHash(), MED(50)], other),
      revertsWith('PeerReviewCaseOpen'),
    );
    await x.bondFrom(subject, MED(50));
    await assert.rejects(
      x.relay('applyBySig', (await x.signApply(subject, MED(50))).args),
      revertsWith('PeerReviewCaseOpen'),
    );

    const { reviewers } = await x.drawPanel(id);
    const [r0, r1, r2] = reviewers as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const { done } = await x.vote(id, [
      { reviewer: r0, approve: false },
      { reviewer: r1, approve: true },
      { reviewer: r2, approve: false },
    ]);
    assert.equal(done.status, REJECTED);
    const returned = (bond * BigInt(P.bondReturnBps)) / 10_000n;
    assert.equal(done.bondReturned, returned);
    assert.equal(done.bondForfeited, bond - returned);
    assert.equal(await x.medBalance(challenger.address), medBefore - bond + returned);
    assert.equal(await x.medBalance(x.c.council), treasury + bond - returned);
    assert.equal(await x.isCertified(subject.address), true);
  });

  test('only a certified provider challenges, not itself, and only a live certification', async () => {
    const outsider = await x.user();
    const subject = await x.certifiedProvider();
    const uncertified = await x.user();
    const challenger = pool[3] as PrivateKeyAccount;
    await x.bondFrom(outsider, MED(50));
    await x.bondFrom(challenger, MED(50));
    const c = (who: PrivateKeyAccount, s: Address, role: number = Role.provider, bond = MED(50)) =>
      x.f.send(x.review, 'challenge', [s, role, randomHash(), bond], who);
    await assert.rejects(c(outsider, subject.address), revertsWith('PeerReviewNotCertified'));
    await assert.rejects(c(challenger, challenger.address), revertsWith('PeerReviewSelfChallenge'));
    await assert.rejects(c(challenger, uncertified.address), revertsWith('PeerReviewNotCertified'));
    await assert.rejects(c(challenger, subject.address, Role.patient), revertsWith('PeerReviewInvalidRole'));
    await assert.rejects(
      c(challenger, subject.address, Role.provider, MED(49)),
      revertsWith('PeerReviewBondTooLow'),
    );
  });
});

describe('appeal', () => {
  test('a rejected candidate appeals once before a fresh panel and is certified; a second appeal reverts', async () => {
    const candidate = await x.user();
    const app = await x.apply(candidate, MED(70));
    const first = await x.drawPanel(app.id);
    await assert.rejects(
      x.f.send(x.review, 'appeal', [app.id], candidate),
      revertsWith('PeerReviewNotAppealable'),
      'a pending case',
    );
    const { done } = await x.vote(app.id, no(first.reviewers));
    assert.equal(done.status, REJECTED);
    assert.equal(await x.f.read(x.review, 'appealOf', [app.id]), 0n);

    const stranger = pool[4] as PrivateKeyAccount;
    await assert.rejects(
      x.f.send(x.review, 'appeal', [app.id], stranger),
      revertsWith('PeerReviewNotAppealable'),
      'only the loser appeals',
    );
    const appeal = await x.appeal(candidate, app.id, MED(70));
    const [opened] = parseEventLogs({
      abi: peerReviewAbi,
      logs: appeal.receipt.logs,
      eventName: 'CaseOpened',
    });
    assert.deepEqual(
      [opened?.args.kind, opened?.args.subject, opened?.args.appealOf],
      [APPEAL, candidate.address, app.id],
    );
    assert.equal(await x.f.read(x.review, 'appealOf', [app.id]), appeal.id);
    const application = await x.applicationOf(appeal.id);
    assert.equal(application.appealOf, app.id);
    assert.equal(application.bond, MED(70), 'the appeal bonds as much as the case');
    assert.equal(application.credentialHash, app.credentialHash);

    const second = await x.drawPanel(appeal.id);
    const earlier = new Set(first.reviewers.map((r) => r?.address));
    assert.ok(
      second.reviewers.every((r) => !earlier.has(r?.address)),
      'a fresh panel: the pool has enough others',
    );
    await x.bondFrom(candidate, MED(70));
    await assert.rejects(
      x.f.send(x.review, 'appeal', [app.id], candidate),
      revertsWith('PeerReviewAlreadyAppealed'),
      'the same case again',
    );
    const result = await x.vote(appeal.id, yes(second.reviewers));
    assert.equal(result.done.status, APPROVED);
    assert.equal(await x.isCertified(candidate.address), true);
    assert.equal(await x.balance(candidate.address), P.certificationReward, 'a first certification');

    await assert.rejects(
      x.f.send(x.review, 'appeal', [app.id], candidate),
      revertsWith('PeerReviewAlreadyAppealed'),
    );
    await assert.rejects(
      x.f.send(x.review, 'appeal', [appeal.id], candidate),
      revertsWith('PeerReviewNotAppealable'),
      'an appeal is final',
    );
  });

  test('the revoked subject of an upheld challenge appeals (relayed) and is reinstated with its old expiry', async () => {
    const subject = await x.certifiedProvider(200n * DAY);
    const patient = await x.user(Role.patient);
    const { expiresAt, credentialHash } = await x.certificationOf(subject.address);
    const ch = await x.challenge(pool[5] as PrivateKeyAccount, subject.address, MED(55));
    const panel = await x.drawPanel(ch.id);
    await x.vote(ch.id, yes(panel.reviewers));
    assert.equal(await x.isCertified(subject.address), false);
    await assert.rejects(
      x.f.send(x.review, 'appeal', [ch.id], pool[5] as PrivateKeyAccount),
      revertsWith('PeerReviewNotAppealable'),
      'the winner does not appeal',
    );

    await x.bondFrom(subject, MED(55));
    const message = {
      applicationId: ch.id,
      appellant: subject.address,
      nonce: await x.f.nonceOf(x.review, subject.address),
      deadline: await x.f.deadline(),
    };
    const signature = await subject.signTypedData({
      domain: domainFor(x.f.deployment.chainId, x.c.peerReview),
      types: appealDecisionTypes,
      primaryType: 'AppealDecision',
      message,
    });
    const receipt = await x.relay('appealBySig', [ch.id, subject.address, message.deadline, signature]);
    const [opened] = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs, eventName: 'CaseOpened' });
    const id = opened?.args.applicationId as bigint;
    const second = await x.drawPanel(id);
    const { done } = await x.vote(id, yes(second.reviewers));
    assert.equal(done.status, APPROVED);
    assert.equal(done.bondReturned, MED(55));
    const after = await x.certificationOf(subject.address);
    assert.deepEqual(
      [after.expiresAt, after.credentialHash, after.revoked],
      [expiresAt, credentialHash, false],
    );
    await anchorFor(subject, patient.address);
  });

  test('an appeal won after an authority certified the subject again leaves that certification alone', async () => {
    const subject = await x.certifiedProvider(200n * DAY);
    const ch = await x.challenge(pool[4] as PrivateKeyAccount, subject.address);
    await x.vote(ch.id, yes((await x.drawPanel(ch.id)).reviewers));
    assert.equal(await x.isCertified(subject.address), false);
    const expiresAt = (await x.f.now()) + 10n * DAY;
    const credentialHash = randomHash();
    await x.f.send(
      x.council,
      'certify',
      [subject.address, Role.provider, credentialHash, randomHash(), expiresAt],
      x.authorities[2],
    );
    const appeal = await x.appeal(subject, ch.id, P.minBond);
    const { done } = await x.vote(appeal.id, yes((await x.drawPanel(appeal.id)).reviewers));
    assert.equal(done.status, APPROVED);
    const after = await x.certificationOf(subject.address);
    assert.deepEqual(
      [after.issuer, after.credentialHash, after.expiresAt, after.revoked],
      [x.c.council, credentialHash, expiresAt, false],
    );
  });

  test('an appeal reuses earlier reviewers only as far as the pool is too small', async () => {
    await x.setParameters({ reviewSize: 6, quorum: 4 });
    try {
      const candidate = await x.user();
      const app = await x.apply(candidate);
      const first = await x.drawPanel(app.id);
      await x.vote(app.id, no(first.reviewers));
      const appeal = await x.appeal(candidate, app.id, P.minBond);
      const second = await x.drawPanel(appeal.id);
      const earlier = new Set(first.reviewers.map((r) => r?.address));
      const others = pool.filter((p) => !earlier.has(p.address));
      assert.equal(others.length, 2);
      for (const o of others) assert.ok(second.reviewers.some((r) => r?.address === o.address));
      assert.equal(second.reviewers.filter((r) => earlier.has(r?.address)).length, 4);
      await x.vote(appeal.id, no(second.reviewers));
    } finally {
      await x.setParameters({ reviewSize: P.reviewSize, quorum: P.quorum });
    }
  });
});

describe('the draw', () => {
  test('is seeded by the hash of the application block: same panel whoever draws and whenever', async () => {
    const candidate = await x.user();
    const app = await x.apply(candidate);
    await assert.rejects(
      x.f.publicClient.simulateContract({
        ...x.review,
        functionName: 'draw',
        args: [app.id],
        account: x.f.admin,
      } as never),
      revertsWith('PeerReviewDrawNotReady'),
      'not in the application block itself',
    );
    const snapshot = await x.testClient.snapshot();
    const soon = await x.drawPanel(app.id);
    await x.testClient.revert({ id: snapshot });
    await x.testClient.mine({ blocks: 40 });
    const anyone = newUser();
    await x.fund(anyone.address);
    await x.f.send(x.review, 'draw', [app.id], anyone);
    const later = await x.f.read<Address[]>(x.review, 'reviewersOf', [app.id]);
    assert.deepEqual(
      later,
      soon.reviewers.map((r) => r?.address),
    );

    // The panel is what the documented seed gives: probes keccak256(abi.encode(seed, k)) over the staker list.
    const block = await x.f.publicClient.getBlock({ blockNumber: app.receipt.blockNumber });
    const seed = keccak256(
      encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [block.hash, app.id]),
    );
    const n = await x.f.read<bigint>(x.points, 'stakerCount');
    const expected: Address[] = [];
    for (let k = 0n; k < BigInt(P.reviewSize) * 4n && expected.length < P.reviewSize; k++) {
      const at =
        BigInt(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [seed, k]))) % n;
      const r = await x.f.read<Address>(x.points, 'stakerAt', [at]);
      if (!expected.includes(r)) expected.push(r); // every staker here is eligible
    }
    assert.deepEqual(later, expected);
    await assert.rejects(x.f.send(x.review, 'draw', [app.id]), revertsWith('PeerReviewAlreadyDrawn'));
    const panel = later.map((a) => x.byAddress.get(a) as PrivateKeyAccount);
    await x.vote(app.id, no(panel));
  });

  test('after 256 blocks the draw reschedules to the current block; past the commit window it is closed', async () => {
    const candidate = await x.user();
    const app = await x.apply(candidate);
    await x.testClient.mine({ blocks: 300 });
    const receipt = await x.relay('draw', [app.id], { pending: true });
    const [scheduled] = parseEventLogs({
      abi: peerReviewAbi,
      logs: receipt.logs,
      eventName: 'DrawScheduled',
    });
    assert.equal(scheduled?.args.drawBlock, receipt.blockNumber);
    assert.equal((await x.applicationOf(app.id)).drawBlock, receipt.blockNumber);
    assert.deepEqual(await x.f.read(x.review, 'reviewersOf', [app.id]), []);
    const { reviewers } = await x.drawPanel(app.id);
    assert.equal(reviewers.length, P.reviewSize);
    await x.vote(app.id, yes(reviewers));
    assert.equal(await x.isCertified(candidate.address), true);

    // Never drawn in time: the draw is closed, and finalize refunds the whole bond.
    const idle = await x.user();
    const late = await x.apply(idle);
    await x.f.advance(BigInt(P.commitWindow) + 1n);
    await assert.rejects(x.f.send(x.review, 'draw', [late.id]), revertsWith('PeerReviewCommitClosed'));
    await x.f.advance(BigInt(P.revealWindow));
    const medBefore = await x.medBalance(idle.address);
    const r = await x.f.send(x.review, 'finalize', [late.id]);
    const [done] = parseEventLogs({ abi: peerReviewAbi, logs: r.logs, eventName: 'ApplicationFinalized' });
    assert.equal(done?.args.status, NO_QUORUM);
    assert.equal(await x.medBalance(idle.address), medBefore + P.minBond);
  });
});

describe('stated rules', () => {
  test('a tie keeps the status quo: no certification, bond settled as rejected, revealers untouched', async () => {
    const candidate = await x.user();
    const app = await x.apply(candidate, MED(50));
    const { reviewers } = await x.drawPanel(app.id);
    const [r0, r1, r2] = reviewers as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const before = await Promise.all(reviewers.map((r) => x.balance(r.address)));
    const { done } = await x.vote(app.id, [
      { reviewer: r0, approve: true },
      { reviewer: r1, approve: false },
      { reviewer: r2, approve: true, reveal: false },
    ]);
    assert.deepEqual(
      [done.status, done.approvals, done.rejections, done.bondReturned, done.bondForfeited],
      [REJECTED, 1, 1, MED(20), MED(30)],
    );
    assert.equal(await x.isCertified(candidate.address), false);
    assert.deepEqual(await Promise.all(reviewers.map((r) => x.balance(r.address))), [
      before[0],
      before[1],
      (before[2] as bigint) - SLASH,
    ]);

    // The same rule for a challenge: a tie leaves the subject certified.
    const subject = await x.certifiedProvider();
    const ch = await x.challenge(pool[6] as PrivateKeyAccount, subject.address);
    const panel = (await x.drawPanel(ch.id)).reviewers as PrivateKeyAccount[];
    const tie = await x.vote(ch.id, [
      { reviewer: panel[0] as PrivateKeyAccount, approve: true },
      { reviewer: panel[1] as PrivateKeyAccount, approve: false },
      { reviewer: panel[2] as PrivateKeyAccount, approve: false, commit: false },
    ]);
    assert.equal(tie.done.status, REJECTED);
    assert.equal(await x.isCertified(subject.address), true);
  });

  test('too few reviewers: fewer stakers than seats refuses the case; too few eligible closes it, refunded', async () => {
    const stakers = Number(await x.f.read<bigint>(x.points, 'stakerCount'));
    assert.equal(stakers, pool.length);
    await x.setParameters({ reviewSize: stakers, quorum: 2 });
    try {
      const candidate = await x.user();
      await x.bondFrom(candidate, MED(50));
      // Every staker eligible: a full panel of all of them.
      const app = await x.relay('applyBySig', (await x.signApply(candidate, MED(50))).args);
      const [opened] = parseEventLogs({ abi: peerReviewAbi, logs: app.logs, eventName: 'CaseOpened' });
      const all = await x.drawPanel(opened?.args.applicationId as bigint);
      assert.equal(all.reviewers.length, stakers);
      await x.vote(opened?.args.applicationId as bigint, yes(all.reviewers));

      // A challenge between two stakers: they are parties, so only stakers - 2 are eligible.
      const challenger = pool[0] as PrivateKeyAccount;
      const subject = pool[7] as PrivateKeyAccount;
      const medBefore = await x.medBalance(challenger.address);
      const ch = await x.challenge(challenger, subject.address, MED(50));
      const { receipt, reviewers } = await x.drawPanel(ch.id);
      assert.deepEqual(reviewers, []);
      const [done] = parseEventLogs({
        abi: peerReviewAbi,
        logs: receipt.logs,
        eventName: 'ApplicationFinalized',
      });
      assert.deepEqual(
        [done?.args.status, done?.args.bondReturned, done?.args.bondForfeited],
        [NO_QUORUM, MED(50), 0n],
      );
      assert.equal(await x.medBalance(challenger.address), medBefore + MED(50));
      assert.equal(await x.f.read(x.review, 'openCaseOf', [subject.address, Role.provider]), 0n);
      for (const p of pool) assert.equal(await x.f.read(x.points, 'lockedOf', [p.address]), 0n);
      assert.equal(await x.isCertified(subject.address), true);

      await x.setParameters({ reviewSize: stakers + 1, quorum: 2 });
      const another = await x.user();
      await x.bondFrom(another, MED(50));
      await assert.rejects(
        x.relay('applyBySig', (await x.signApply(another, MED(50))).args),
        revertsWith('PeerReviewNotEnoughReviewers'),
      );
      assert.equal(await x.medBalance(another.address), MED(50), 'nothing taken');
    } finally {
      await x.setParameters({ reviewSize: P.reviewSize, quorum: P.quorum });
    }
  });
});

describe('ballots', () => {
  test('no double vote, no other vote revealed, no vote on one’s own case; a copied reveal changes nothing', async () => {
    // A certified, staked provider renews: it is in the pool but never on its own panel.
    const candidate = pool[2] as PrivateKeyAccount;
    const app = await x.apply(candidate);
    assert.equal(app.kind, RENEWAL);
    const { reviewers } = await x.drawPanel(app.id);
    assert.ok(!reviewers.some((r) => r?.address === candidate.address));
    await assert.rejects(
      x.f.send(x.review, 'commitVote', [app.id, randomHash()], candidate),
      revertsWith('PeerReviewNotReviewer'),
    );
    const [r0, r1, r2] = reviewers as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const salt0 = randomHash();
    const c0 = x.commitment(app.id, r0.address, true, salt0);
    await x.f.send(x.review, 'commitVote', [app.id, c0], r0);
    await assert.rejects(
      x.f.send(x.review, 'commitVote', [app.id, c0], r0),
      revertsWith('PeerReviewAlreadyCommitted'),
    );
    await x.f.send(x.review, 'commitVote', [app.id, c0], r1); // r1 copies r0's sealed ballot
    const salt2 = randomHash();
    await x.f.send(x.review, 'commitVote', [app.id, x.commitment(app.id, r2.address, true, salt2)], r2);
    await x.f.advance(BigInt(P.commitWindow) + 1n);

    // A front-runner who saw r0's reveal can only reveal r0's own vote, for r0.
    const front = newUser();
    await x.fund(front.address);
    await assert.rejects(
      x.f.send(x.review, 'revealVote', [app.id, true, salt0], front),
      revertsWith('PeerReviewNotReviewer'),
    );
    await assert.rejects(
      x.f.send(x.review, 'revealVoteFor', [app.id, r0.address, false, salt0], front),
      revertsWith('PeerReviewInvalidReveal'),
    );
    await x.f.send(x.review, 'revealVoteFor', [app.id, r0.address, true, salt0], front);
    assert.deepEqual(await x.f.read(x.review, 'ballotOf', [app.id, r0.address]), [3, true, c0]);
    await assert.rejects(
      x.f.send(x.review, 'revealVote', [app.id, true, salt0], r0),
      revertsWith('PeerReviewNotCommitted'),
    );
    // The copier cannot open a commitment bound to r0's address, with either vote.
    for (const approve of [true, false])
      await assert.rejects(
        x.f.send(x.review, 'revealVote', [app.id, approve, salt0], r1),
        revertsWith('PeerReviewInvalidReveal'),
      );
    await x.f.send(x.review, 'revealVote', [app.id, true, salt2], r2);
    const before = await x.balance(r1.address);
    await x.f.advance(BigInt(P.revealWindow));
    const r = await x.f.send(x.review, 'finalize', [app.id]);
    const [done] = parseEventLogs({ abi: peerReviewAbi, logs: r.logs, eventName: 'ApplicationFinalized' });
    assert.deepEqual([done?.args.status, done?.args.approvals, done?.args.rejections], [APPROVED, 2, 0]);
    assert.equal(await x.balance(r1.address), before - SLASH, 'the copier is a non-revealer');
  });

  test('a stalling reviewer is slashed and cannot hold the case up: anyone finalises after the reveal window', async () => {
    const candidate = await x.user();
    const app = await x.apply(candidate);
    const { reviewers } = await x.drawPanel(app.id);
    const [r0, r1, staller] = reviewers as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const before = await x.balance(staller.address);
    assert.equal(await x.f.read(x.points, 'lockedOf', [staller.address]), P.reviewerStake);
    await assert.rejects(
      x.f.send(x.points, 'unstake', [await x.staked(staller.address)], staller),
      revertsWith('MPPointsInsufficientStake'),
    );
    const { done } = await x.vote(app.id, [
      { reviewer: r0, approve: true },
      { reviewer: r1, approve: true },
      { reviewer: staller, approve: false, reveal: false },
    ]);
    assert.equal(done.status, APPROVED);
    assert.equal(await x.balance(staller.address), before - SLASH);
    assert.equal(await x.f.read(x.points, 'lockedOf', [staller.address]), 0n);
    assert.equal((await x.applicationOf(app.id)).status, APPROVED);
  });
});

describe('anchoring for others', () => {
  test('a provider whose certification expired can no longer anchor records for others', async () => {
    const provider = await x.certifiedProvider(2n * DAY);
    const patient = await x.user(Role.patient);
    await anchorFor(provider, patient.address);
    await x.f.advance(2n * DAY + 1n);
    await assert.rejects(
      anchorFor(provider, patient.address),
      revertsWith('RecordRegistryCreatorNotCertified'),
    );
  });
});
