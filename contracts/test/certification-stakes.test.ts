/**
 * Property test of peer review's tally and stake accounting on a real anvil: many seeded random cases (random panel
 * size, quorum, slash and bond-return shares, stake and reward amounts down to the wei, applications and challenges,
 * each reviewer committing or not, revealing or not, for or against), each checked against a model of the stated
 * rules. Stake is conserved exactly: the MP supply moves by rewards minus slashes and nothing else, every holder's
 * balance by its own reward or slash; the bond ends whole with its owner or split with the treasury, and peer review
 * keeps no MED. Set CERT_FUZZ_SEED to replay a run, CERT_FUZZ_RUNS to change how many.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mPPointsAbi, peerReviewAbi } from '@medbloc/contracts';
import { Role } from '@medbloc/core';
import { type Address, keccak256, type PrivateKeyAccount, parseEventLogs, toHex } from 'viem';
import {
  APPROVED,
  type CertificationFixture,
  MP,
  NO_QUORUM,
  REJECTED,
  setupCertification,
  testParameters,
} from './certification-fixture.ts';

const SEED = Number(process.env.CERT_FUZZ_SEED ?? 0x5eed_2026);
const RUNS = Number(process.env.CERT_FUZZ_RUNS ?? 50);
const POOL = 12;
const BPS = 10_000n;

/** mulberry32: a small seeded PRNG, so a failing scenario replays from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const wei = (max: bigint) => (BigInt(int(0, 2 ** 30)) * max) / 2n ** 30n;
  return { next, int, pick, wei };
}

type Behaviour = 'absent' | 'silent' | 'approve' | 'reject';

let x: CertificationFixture;
let pool: PrivateKeyAccount[];

before(async () => {
  x = await setupCertification();
  pool = await x.stakedPool(POOL);
  // The deployer administers MP: it tops reviewers up between scenarios, outside the measured windows.
  await x.f.send(x.points, 'grantRole', [keccak256(toHex('MINTER_ROLE')), x.f.admin.address]);
});
after(() => x.f.stop());

async function topUp() {
  for (const p of pool) {
    const staked = await x.staked(p.address);
    if (staked >= MP(60)) continue;
    const amount = MP(100) - staked;
    await x.f.send(x.points, 'mint', [p.address, amount, toHex('top-up', { size: 32 })]);
    await x.f.send(x.points, 'stake', [amount], p);
  }
}

test(`stake and bond are conserved exactly over ${RUNS} random cases (seed ${SEED})`, async () => {
  const r = prng(SEED);
  const outcomes = { [APPROVED]: 0, [REJECTED]: 0, [NO_QUORUM]: 0, closedAtDraw: 0, challenges: 0 };
  for (let run = 0; run < RUNS; run++) {
    const where = `run ${run} (seed ${SEED})`;
    await topUp();
    const reviewSize = r.int(1, 7);
    const p = {
      reviewSize,
      quorum: r.int(1, reviewSize),
      slashBps: r.pick([0, 10_000, r.int(1, 9_999), r.int(1, 9_999)]),
      bondReturnBps: r.pick([0, 10_000, r.int(1, 9_999), r.int(1, 9_999)]),
      reviewerStake: MP(1) + r.wei(MP(14)),
      reviewReward: r.pick([0n, r.wei(MP(5)), r.wei(MP(5))]),
      minBond: testParameters.minBond,
    };
    await x.setParameters(p);
    const challenge = r.next() < 0.35;
    const bond = p.minBond + r.wei(MP(100));

    // Open the case: a fresh candidate applies, or a pool member challenges a fresh certified subject.
    let candidate: PrivateKeyAccount;
    let subject: PrivateKeyAccount;
    let id: bigint;
    if (challenge) {
      outcomes.challenges++;
      candidate = r.pick(pool);
      subject = await x.certifiedProvider();
      id = (await x.challenge(candidate, subject.address, bond)).id;
    } else {
      candidate = await x.user();
      subject = candidate;
      id = (await x.apply(candidate, bond)).id;
    }
    const holders = [...new Set([...pool.map((q) => q.address), candidate.address, subject.address])];
    const mpBefore = new Map<Address, bigint>();
    for (const h of holders) mpBefore.set(h, await x.balance(h));
    const stakedBefore = new Map<Address, bigint>();
    for (const h of holders) stakedBefore.set(h, await x.staked(h));
    const supplyBefore = await x.f.read<bigint>(x.points, 'totalSupply');
    const medCandidate = await x.medBalance(candidate.address);
    const medTreasury = await x.medBalance(x.c.council);
    assert.equal(await x.medBalance(x.c.peerReview), bond, `${where}: peer review holds the bond`);

    const drawn = await x.drawPanel(id);
    let status: number;
    let returned = bond;
    const expectedMp = new Map(mpBefore);
    let minted = 0n;
    let burnt = 0n;
    let logs: readonly { eventName: string; args: unknown }[] = [];
    if (drawn.reviewers.length === 0) {
      // Too few eligible reviewers (stakes run low): closed at the draw, refunded, nobody touched.
      outcomes.closedAtDraw++;
      status = NO_QUORUM;
      logs = parseEventLogs({ abi: peerReviewAbi, logs: drawn.receipt.logs });
    } else {
      assert.equal(drawn.reviewers.length, p.reviewSize, where);
      const behaviour = new Map<Address, Behaviour>();
      for (const rv of drawn.reviewers) {
        assert.ok(rv && rv.address !== candidate.address && rv.address !== subject.address, where);
        behaviour.set(
          rv.address,
          r.pick(['absent', 'silent', 'approve', 'approve', 'reject', 'reject'] as const),
        );
      }
      const votes = drawn.reviewers.map((rv) => {
        const b = behaviour.get((rv as PrivateKeyAccount).address) as Behaviour;
        return {
          reviewer: rv as PrivateKeyAccount,
          approve: b === 'approve',
          commit: b !== 'absent',
          reveal: b === 'approve' || b === 'reject',
        };
      });
      const { receipt } = await x.vote(id, votes);
      logs = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs });

      // The model: the rules stated in PeerReview's NatSpec.
      const approvals = votes.filter((v) => v.reveal && v.approve).length;
      const rejections = votes.filter((v) => v.reveal && !v.approve).length;
      status = approvals + rejections < p.quorum ? NO_QUORUM : approvals > rejections ? APPROVED : REJECTED;
      const decided = status !== NO_QUORUM && approvals !== rejections;
      const majority = approvals > rejections;
      const slash = (p.reviewerStake * BigInt(p.slashBps)) / BPS;
      for (const v of votes) {
        const a = v.reviewer.address;
        if (v.reveal && !decided) continue;
        if (v.reveal && v.approve === majority) {
          expectedMp.set(a, (expectedMp.get(a) as bigint) + p.reviewReward);
          minted += p.reviewReward;
        } else {
          const amount = slash < (stakedBefore.get(a) as bigint) ? slash : (stakedBefore.get(a) as bigint);
          expectedMp.set(a, (expectedMp.get(a) as bigint) - amount);
          burnt += amount;
        }
      }
      if (status === REJECTED) returned = (bond * BigInt(p.bondReturnBps)) / BPS;
      if (status === APPROVED && !challenge) {
        expectedMp.set(
          candidate.address,
          (expectedMp.get(candidate.address) as bigint) + testParameters.certificationReward,
        );
        minted += testParameters.certificationReward;
      }
    }
    outcomes[status as 2 | 3 | 4]++;

    // What the chain says, against the model, to the wei.
    const finalized = logs.find((l) => l.eventName === 'ApplicationFinalized')?.args as {
      status: number;
      bondReturned: bigint;
      bondForfeited: bigint;
    };
    assert.equal(finalized.status, status, `${where}: status`);
    assert.equal(finalized.bondReturned, returned, `${where}: bond returned`);
    assert.equal(finalized.bondForfeited, bond - returned, `${where}: bond forfeited`);
    assert.equal(await x.medBalance(candidate.address), medCandidate + returned, `${where}: owner's MED`);
    assert.equal(await x.medBalance(x.c.council), medTreasury + bond - returned, `${where}: treasury's MED`);
    assert.equal(await x.medBalance(x.c.peerReview), 0n, `${where}: peer review keeps no MED`);

    for (const h of holders) assert.equal(await x.balance(h), expectedMp.get(h), `${where}: MP of ${h}`);
    const supply = await x.f.read<bigint>(x.points, 'totalSupply');
    assert.equal(supply, supplyBefore + minted - burnt, `${where}: MP supply`);
    const rewarded = logs
      .filter((l) => l.eventName === 'ReviewerRewarded')
      .reduce((s, l) => s + (l.args as { amount: bigint }).amount, 0n);
    const slashed = logs
      .filter((l) => l.eventName === 'ReviewerSlashed')
      .reduce((s, l) => s + (l.args as { amount: bigint }).amount, 0n);
    const certReward = status === APPROVED && !challenge ? testParameters.certificationReward : 0n;
    assert.equal(rewarded + certReward, minted, `${where}: rewards announced`);
    assert.equal(slashed, burnt, `${where}: slashes announced`);
    for (const q of pool) assert.equal(await x.f.read(x.points, 'lockedOf', [q.address]), 0n, where);

    // The decision took effect on the subject's certification.
    const certified = await x.isCertified(subject.address, Role.provider);
    if (challenge) assert.equal(certified, status !== APPROVED, `${where}: challenged subject`);
    else assert.equal(certified, status === APPROVED, `${where}: candidate`);
    assert.equal(await x.f.read(x.review, 'openCaseOf', [subject.address, Role.provider]), 0n, where);
  }
  // The scenarios reached every outcome.
  console.log('certification property runs:', outcomes);
  assert.ok(
    outcomes[APPROVED] > 0 && outcomes[REJECTED] > 0 && outcomes[NO_QUORUM] > 0,
    JSON.stringify(outcomes),
  );
  assert.ok(outcomes.challenges > 0);
});

test('MP has no transfer path: supply moves only by mint and slash', async () => {
  const names = (mPPointsAbi as readonly { name?: string }[]).map((i) => i.name);
  for (const n of ['transfer', 'transferFrom', 'approve']) assert.ok(!names.includes(n), n);
  const holder = pool[0] as PrivateKeyAccount;
  const supply = await x.f.read<bigint>(x.points, 'totalSupply');
  const total = await x.balance(holder.address);
  await x.f.send(x.points, 'unstake', [MP(1)], holder);
  await x.f.send(x.points, 'stake', [MP(1)], holder);
  assert.equal(await x.balance(holder.address), total);
  assert.equal(await x.f.read(x.points, 'totalSupply'), supply);
});
