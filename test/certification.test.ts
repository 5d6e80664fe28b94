/**
 * Certification by peer review through the SDK against a real node: the council shortens the windows by a governed
 * proposal, certified providers stake MP, a candidate applies with sealed evidence and a permitted MED bond, the drawn
 * reviewers (and nobody else) open the evidence, commit sealed votes, reveal, and anyone finalises; the new provider
 * then writes for a patient, while a rejected candidate stays unable to. Time is advanced on the embedded anvil only.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { commitVoteTypes, domainFor, voteCommitmentParameters } from '@medbloc/core';
import type { MedblocClient } from '@medbloc/sdk';
import { createClient } from '@medbloc/sdk';
import { encodeAbiParameters, type Hex, keccak256, parseEther } from 'viem';
import {
  assertAbsent,
  cast,
  fileHaystacks,
  filesUnder,
  newIdentity,
  startTestNode,
} from './support/harness.ts';

const COMMIT_WINDOW = 120;
const REVEAL_WINDOW = 120;
const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  valueQuantity: { value: 72, unit: '/min' },
};

describe('certification by staked, secret-ballot peer review (SDK over HTTP)', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  const reviewers: MedblocClient[] = [];
  const reviewerIds: ReturnType<typeof newIdentity>[] = [];
  const outsiderId = newIdentity();
  let outsider: MedblocClient;
  let peerCertified: MedblocClient;
  let rejected: { client: MedblocClient; applicationId: number };

  const rpc = async (method: string, params: unknown[] = []) => {
    const res = await fetch(t.node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return ((await res.json()) as { result: unknown }).result;
  };
  /** Embedded anvil only: moves chain time forward and mines a block. */
  const advance = async (seconds: number) => {
    await rpc('evm_increaseTime', [seconds]);
    await rpc('evm_mine');
  };
  const client = () => createClient({ node: t.node.url, identity: newIdentity() });
  /** The drawn panel votes `votes` (in seat order), then the windows pass; returns the finalised status. */
  const decide = async (applicationId: number, votes: boolean[]) => {
    const panel = (await c.patient.application(applicationId)).reviewers.map(
      (x) => reviewers.find((r) => r.address === x.reviewer)!,
    );
    const salts: Hex[] = [];
    for (const [i, r] of panel.entries()) salts.push((await r.commitVote(applicationId, votes[i]!)).salt);
    await advance(COMMIT_WINDOW + 1);
    for (const [i, r] of panel.entries()) await r.revealVote(applicationId, votes[i]!, salts[i]!);
    await advance(REVEAL_WINDOW + 1);
    return (await c.patient.finalize(applicationId)).status;
  };

  before(async () => {
    t = await startTestNode();
    c = await cast(t.node);
    // The authority sits on the council (the operator seated it); it pays its own gas, from the dev faucet here.
    await c.authority.faucet(0);
    const changed = await c.authority.proposeParameters({
      reviewSize: 3,
      quorum: 2,
      commitWindow: COMMIT_WINDOW,
      revealWindow: REVEAL_WINDOW,
      reviewerStake: parseEther('40').toString(),
      minBond: parseEther('50').toString(),
    });
    assert.equal(changed.executed, true);
    // Three providers certified through the council receive the MP reward (100) and stake it: the reviewer pool.
    for (let i = 0; i < 3; i++) {
      reviewerIds.push(newIdentity());
      const r = createClient({ node: t.node.url, identity: reviewerIds[i]! });
      await r.register({ roles: ['provider'] });
      await c.authority.councilCertify(r.address, { role: 'provider' });
      await r.stake(100);
      reviewers.push(r);
    }
    // A certified provider who did not stake: never drawn.
    outsider = createClient({ node: t.node.url, identity: outsiderId });
    await outsider.register({ roles: ['provider'] });
    await c.authority.councilCertify(outsider.address, { role: 'provider' });
  });
  after(() => t.stop());

  test('the council governs the windows; stakes are visible', async () => {
    const p = await c.patient.certificationParameters();
    assert.equal(p.parameters.commitWindow, COMMIT_WINDOW);
    assert.equal(p.parameters.reviewSize, 3);
    assert.ok(p.authorities.includes(c.authority.address));
    const b = await reviewers[0]!.balances();
    assert.equal(b.mp.staked, parseEther('100').toString());
    const proposals = await c.patient.councilProposals();
    assert.ok(proposals.some((x) => x.kind === 'parameters' && x.executed));
    assert.ok(proposals.some((x) => x.kind === 'add-authority' && x.executed));
    const doc = (await (await fetch(`${t.node.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    for (const p of ['/v1/certification/status/{address}', '/v1/certification/applications/{id}/commit'])
      assert.ok(doc.paths[p], `${p} is documented`);
  });

  test('apply → drawn reviewers read the evidence, an outsider cannot → secret commit → reveal → finalize → certified by peer review → writes for a patient', async () => {
    const candidate = client();
    await candidate.register({ roles: ['provider'] });
    await candidate.faucet(100);
    const evidence = `Medical licence no. ${crypto.randomUUID()} — Dr Candidate, cardiology`;
    const applied = await candidate.applyForCertification({ role: 'provider', evidence });
    assert.equal(applied.reviewers.length, 3);
    assert.deepEqual([...applied.reviewers].sort(), reviewers.map((r) => r.address).sort());
    assert.equal((await candidate.balances()).med, parseEther('50').toString()); // the 50 MED bond is held

    // Not certified yet: the candidate cannot write for others.
    await assert.rejects(candidate.addRecord({ owner: c.patient.address, resource: observation }), {
      code: 'NOT_CERTIFIED',
    });

    // Every drawn reviewer opens the evidence; the candidate too; an outsider and another provider cannot.
    for (const r of reviewers) {
      assert.equal(new TextDecoder().decode(await r.openEvidence(applied.applicationId)), evidence);
    }
    assert.equal(new TextDecoder().decode(await candidate.openEvidence(applied.applicationId)), evidence);
    await assert.rejects(outsider.openEvidence(applied.applicationId), { code: 'NOT_REVIEWER', status: 403 });
    await assert.rejects(c.provider.openEvidence(applied.applicationId), { code: 'NOT_REVIEWER' });
    // The node holds only ciphertext of the evidence.
    assertAbsent([evidence], await fileHaystacks(await filesUnder(t.home)));

    const mine = await reviewers[0]!.reviews();
    assert.deepEqual(
      mine.map((a) => [a.applicationId, a.phase, a.myBallot]),
      [[applied.applicationId, 'commit', 'drawn']],
    );

    const salts: Hex[] = [];
    for (const r of reviewers) salts.push((await r.commitVote(applied.applicationId, true)).salt);
    await assert.rejects(reviewers[0]!.commitVote(applied.applicationId, false), {
      code: 'ALREADY_COMMITTED',
    });
    await assert.rejects(outsider.commitVote(applied.applicationId, true), { code: 'NOT_REVIEWER' });

    // Before the reveal, only the phase is visible: committed, no vote.
    const sealed = await c.patient.application(applied.applicationId);
    assert.deepEqual(
      sealed.reviewers.map((x) => [x.ballot, x.vote]),
      [
        ['committed', undefined],
        ['committed', undefined],
        ['committed', undefined],
      ],
    );
    assert.equal(JSON.stringify(sealed).includes('approve'), false);
    await assert.rejects(reviewers[0]!.revealVote(applied.applicationId, true, salts[0]!), {
      code: 'REVEAL_NOT_OPEN',
    });

    await advance(COMMIT_WINDOW + 1);
    await assert.rejects(reviewers[0]!.revealVote(applied.applicationId, false, salts[0]!), {
      code: 'INVALID_REVEAL',
    });
    for (const [i, r] of reviewers.entries()) await r.revealVote(applied.applicationId, true, salts[i]!);
    const revealed = await c.patient.application(applied.applicationId);
    assert.deepEqual(
      revealed.reviewers.map((x) => [x.ballot, x.vote]),
      [
        ['revealed', 'approve'],
        ['revealed', 'approve'],
        ['revealed', 'approve'],
      ],
    );
    await assert.rejects(c.patient.finalize(applied.applicationId), { code: 'REVIEW_OPEN' });

    await advance(REVEAL_WINDOW + 1);
    const done = await c.patient.finalize(applied.applicationId); // anyone may finalise
    assert.equal(done.status, 'approved');
    await assert.rejects(c.patient.finalize(applied.applicationId), { code: 'APPLICATION_CLOSED' });

    const status = await c.patient.certificationStatus(candidate.address);
    const provider = status.roles.find((x) => x.role === 'provider');
    assert.ok(provider?.issued);
    assert.equal(provider.certified, true);
    assert.equal(provider.via, 'peer-review');
    assert.equal(provider.applicationId, applied.applicationId);
    assert.equal(provider.revoked, false);
    assert.ok(provider.since && provider.since <= status.chainTime);
    const validity = (await c.patient.certificationParameters()).parameters.certificationValidity;
    assert.ok(Math.abs(provider.expiresAt - (provider.since! + validity)) <= 2);
    assert.equal(provider.credentialHash, applied.evidence);
    assert.equal((await candidate.balances()).med, parseEther('100').toString()); // bond returned
    const r0 = await c.patient.application(applied.applicationId);
    assert.equal(r0.status, 'approved');
    assert.ok(r0.reviewers.every((x) => x.reward === parseEther('10').toString()));
    assert.deepEqual(
      (await c.patient.applications({ status: 'approved' })).map((a) => a.applicationId),
      [applied.applicationId],
    );

    peerCertified = candidate;
    // The new provider writes a record for the patient, who reads it.
    const written = await candidate.addRecord({ owner: c.patient.address, resource: observation });
    const read = await c.patient.getRecord(written.recordId);
    assert.deepEqual(read.resource, observation);

    // An authority's direct certification reads as such.
    const direct = (await c.patient.certificationStatus(c.provider.address)).roles[0]!;
    assert.ok(direct.issued && direct.via === 'authority' && direct.authority === c.authority.address);
  });

  test('a rejected case leaves the account uncertified and unable to write for others', async () => {
    const candidate = client();
    await candidate.register({ roles: ['provider'] });
    await candidate.faucet(100);
    await assert.rejects(candidate.applyForCertification({ role: 'provider', evidence: 'x', bond: 10 }), {
      code: 'BOND_TOO_LOW',
    });
    const applied = await candidate.applyForCertification({ role: 'provider', evidence: 'a forged licence' });
    const votes = [false, false, true];
    const salts: Hex[] = [];
    for (const [i, r] of reviewers.entries())
      salts.push((await r.commitVote(applied.applicationId, votes[i]!)).salt);
    await advance(COMMIT_WINDOW + 1);
    for (const [i, r] of reviewers.entries()) await r.revealVote(applied.applicationId, votes[i]!, salts[i]!);
    await advance(REVEAL_WINDOW + 1);
    assert.equal((await candidate.finalize(applied.applicationId)).status, 'rejected');
    rejected = { client: candidate, applicationId: applied.applicationId };

    const provider = (await c.patient.certificationStatus(candidate.address)).roles[0]!;
    assert.equal(provider.certified, false);
    assert.equal(provider.issued, false);
    await assert.rejects(candidate.addRecord({ owner: c.patient.address, resource: observation }), {
      code: 'NOT_CERTIFIED',
    });
    const app = await c.patient.application(applied.applicationId);
    assert.equal(app.status, 'rejected');
    assert.equal(app.bondForfeited, parseEther('25').toString()); // half the bond, by the council's default
    const minority = app.reviewers.find((x) => x.reviewer === reviewers[2]!.address);
    assert.equal(minority?.slashed, parseEther('8').toString()); // 20% of the 40 MP locked
    assert.deepEqual(
      (await c.patient.applications({ status: 'rejected', candidate: candidate.address })).map(
        (a) => a.applicationId,
      ),
      [applied.applicationId],
    );
  });

  test('the rejected candidate appeals once: a fresh panel reads the same evidence and certifies it', async () => {
    const { client: candidate, applicationId } = rejected;
    const appeal = await candidate.appeal(applicationId);
    assert.equal(appeal.status, 'pending');
    assert.equal(appeal.reviewers.length, 3);
    assert.equal(appeal.sharedWith.length, 4); // the appellant and the three reviewers
    const detail = await c.patient.application(appeal.applicationId);
    assert.equal(detail.kind, 'appeal');
    assert.equal(detail.appealOf, applicationId);
    const original = await c.patient.application(applicationId);
    assert.equal(detail.evidence, original.evidence);
    const panel = reviewers.find((r) => r.address === appeal.reviewers[0])!;
    assert.equal(
      new TextDecoder().decode(await panel.openEvidence(appeal.applicationId)),
      'a forged licence',
    );
    await assert.rejects(candidate.appeal(applicationId), { code: 'ALREADY_APPEALED' });
    assert.equal(await decide(appeal.applicationId, [true, true, true]), 'approved');
    const provider = (await c.patient.certificationStatus(candidate.address)).roles[0]!;
    assert.ok(provider.issued && provider.certified);
    assert.equal(provider.via, 'peer-review');
    assert.equal(provider.applicationId, appeal.applicationId);
    await assert.rejects(c.patient.appeal(appeal.applicationId), { code: 'NOT_APPEALABLE' });
  });

  test('a certified provider challenges a peer-certified provider; upheld, the certification is revoked', async () => {
    await c.provider.faucet(100);
    const subject = peerCertified;
    await assert.rejects(
      outsider.challenge(subject.address, { evidence: 'x' }), // no MED for the bond
      { code: 'INSUFFICIENT_MED' },
    );
    await assert.rejects(c.patient.challenge(subject.address, { evidence: 'x' }), { code: 'NOT_CERTIFIED' });
    const evidence = `Complaint file ${crypto.randomUUID()}`;
    const opened = await c.provider.challenge(subject.address, { evidence });
    assert.equal(opened.reviewers.length, 3);
    assert.ok(!opened.reviewers.includes(subject.address) && !opened.reviewers.includes(c.provider.address));
    const detail = await c.patient.application(opened.applicationId);
    assert.deepEqual(
      [detail.kind, detail.subject, detail.candidate],
      ['challenge', subject.address, c.provider.address],
    );
    await assert.rejects(subject.openEvidence(opened.applicationId), { code: 'NOT_REVIEWER' });
    const panel = reviewers.find((r) => r.address === opened.reviewers[1])!;
    assert.equal(new TextDecoder().decode(await panel.openEvidence(opened.applicationId)), evidence);
    // One open case per subject and role: no renewal while the challenge runs.
    await assert.rejects(subject.applyForCertification({ role: 'provider', evidence: 'renewal' }), {
      code: 'CASE_OPEN',
    });
    assert.equal(await decide(opened.applicationId, [true, true, false]), 'approved');
    const provider = (await c.patient.certificationStatus(subject.address)).roles[0]!;
    assert.ok(provider.issued);
    assert.equal(provider.certified, false);
    assert.equal(provider.revoked, true);
    await assert.rejects(subject.addRecord({ owner: c.patient.address, resource: observation }), {
      code: 'NOT_CERTIFIED',
    });
  });

  test('an institution certifies its staff; the status names the institution', async () => {
    const hospital = client();
    const nurse = client();
    await nurse.register({ roles: ['provider'] });
    await hospital.faucet(0); // gas for its own council call (development chain)
    await c.authority.councilSetInstitution(hospital.address, { staffQuota: 2 });
    await hospital.certifyStaff(nurse.address, { credential: 'staff card 17' });
    const provider = (await c.patient.certificationStatus(nurse.address)).roles[0]!;
    assert.ok(provider.issued && provider.certified);
    assert.equal(provider.via, 'institution');
    assert.equal(provider.institution, hospital.address);
    await assert.rejects(outsider.certifyStaff(nurse.address), { code: 'CHAIN_REVERTED' });
  });

  test('relayed signatures: replayed, expired and forged commits, an expired application, are refused', async () => {
    const candidate = client();
    await candidate.register({ roles: ['provider'] });
    await candidate.faucet(100);
    const applied = await candidate.applyForCertification({ role: 'provider', evidence: 'licence' });
    const reviewer = reviewers[0]!;
    const info = await reviewer.nodeInfo();
    const peerReview = (info.contracts as unknown as { peerReview: `0x${string}` }).peerReview;
    const id = BigInt(applied.applicationId);
    const commitment = keccak256(
      encodeAbiParameters(voteCommitmentParameters, [id, reviewer.address, true, keccak256('0x01')]),
    );
    const nonceOf = async () =>
      BigInt(
        (
          (await (await fetch(`${t.node.url}/v1/certification/nonces/${reviewer.address}`)).json()) as {
            peerReview: string;
          }
        ).peerReview,
      );
    const nonce = await nonceOf();
    const sign = async (who: ReturnType<typeof newIdentity>, n: bigint, deadline: bigint) => {
      const message = { applicationId: id, reviewer: reviewer.address, commitment, nonce: n, deadline };
      const signature = await who.account.signTypedData({
        domain: domainFor(info.chainId, peerReview),
        types: commitVoteTypes,
        primaryType: 'CommitVote',
        message,
      });
      return fetch(`${t.node.url}/v1/certification/applications/${id}/commit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          reviewer: reviewer.address,
          commitment,
          nonce: String(n),
          deadline: String(deadline),
          signature,
        }),
      });
    };
    // Chain time runs ahead of the wall clock here (the windows were skipped): a generous deadline.
    const soon = BigInt(Math.floor(Date.now() / 1000) + 3000);
    const expired = await sign(reviewerIds[0]!, nonce, BigInt(Math.floor(Date.now() / 1000) - 10));
    assert.equal(expired.status, 400);
    assert.equal(((await expired.json()) as { code: string }).code, 'SIGNATURE_EXPIRED');
    const forged = await sign(outsiderId, nonce, soon);
    assert.equal(((await forged.json()) as { code: string }).code, 'INVALID_SIGNATURE');
    const first = await sign(reviewerIds[0]!, nonce, soon);
    assert.equal(first.status, 200, await first.clone().text());
    assert.equal(await nonceOf(), nonce + 1n);
    const replayed = await sign(reviewerIds[0]!, nonce, soon);
    assert.equal(replayed.status, 409);
    assert.equal(((await replayed.json()) as { code: string }).code, 'SIGNATURE_REPLAYED');
    // An application signed with a deadline already past is refused before anything is relayed.
    const lateId = newIdentity();
    const late = createClient({ node: t.node.url, identity: lateId });
    await late.register({ roles: ['provider'] });
    await late.faucet(100);
    const expiredApply = createClient({ node: t.node.url, identity: lateId, signatureTtl: -60 });
    await assert.rejects(expiredApply.applyForCertification({ role: 'provider', evidence: 'late' }), {
      code: 'SIGNATURE_EXPIRED',
    });
    assert.deepEqual(await c.patient.applications({ candidate: late.address }), []);
    // Bad input: a clear problem with a stable code.
    const bad = await fetch(`${t.node.url}/v1/certification/applications/abc`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'INVALID_BODY');
    const unknown = await fetch(`${t.node.url}/v1/certification/applications/999`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'APPLICATION_NOT_FOUND');
  });

  test('the index resumes after a restart (an older index is backfilled once): cases, ballots and issuers are there, new events still arrive', async () => {
    const before = await c.patient.applications();
    const home = t.home;
    await t.node.stop();
    // As an index made before it filed peer review: its cursor is past those events; they are filed once on start.
    const db = new DatabaseSync(path.join(home, 'index.sqlite'));
    db.exec(`DELETE FROM cert_applications; DELETE FROM cert_reviewers; DELETE FROM cert_issuances;
      DELETE FROM meta WHERE key = 'certification.backfilled'`);
    db.close();
    t = await startTestNode({}, home);
    const again = createClient({ node: t.node.url, identity: newIdentity() });
    assert.deepEqual(
      (await again.applications()).map((a) => [a.applicationId, a.status]),
      before.map((a) => [a.applicationId, a.status]),
    );
    const provider = (await again.certificationStatus(peerCertified.address)).roles[0]!;
    assert.ok(provider.issued && provider.revoked);
    assert.equal(provider.via, 'peer-review'); // from the backfilled index
    assert.ok(provider.applicationId);
    // The case opened by the replay test is still pending: its one committed vote is never revealed.
    const open = before.find((a) => a.status === 'pending')!;
    const pending = await again.application(open.applicationId);
    assert.equal(pending.reviewers.length, 3);
    // anvil does not keep its clock offset across a restart (blocks only stay monotonic): move the clock on from
    // the wall clock to just past this case's reveal window.
    await advance(pending.revealEnd - Math.floor(Date.now() / 1000) + 2);
    assert.equal((await again.finalize(open.applicationId)).status, 'no-quorum');
    const listed = await again.applications({ status: 'no-quorum' });
    assert.deepEqual(
      listed.map((a) => a.applicationId),
      [open.applicationId],
    );
  });
});
