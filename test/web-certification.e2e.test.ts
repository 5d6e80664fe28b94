/**
 * Certification by peer review in the browser, end to end in Chromium against a real node and chain: the council
 * shortens the windows (SDK), two certified providers stake MP with the SDK and a third stakes in the browser; a
 * candidate provider onboards in the browser, takes test MED from the dev faucet and applies with an evidence file;
 * the authority's queue shows the case and the authority proposes (and, at threshold one, executes) a new council
 * member from the page; the browser reviewer opens the evidence in the page, commits a sealed vote, and reveals it
 * after the commit window while the SDK reviewers do the same; the candidate finalizes in the page and reads
 * "Certified provider by peer review #n". No request body carries the evidence plaintext, a recovery phrase or a
 * private key, the kept ballot is stored encrypted, no page logs an error. Screenshots at desktop and phone width.
 * Time is advanced on the embedded anvil only.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type http from 'node:http';
import { after, before, test } from 'node:test';
import { authorityCouncilAbi } from '@medbloc/contracts';
import { createClient, type MedblocClient } from '@medbloc/sdk';
import type { Browser, Page } from 'playwright-core';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  parseEther,
  parseEventLogs,
  http as viemHttp,
} from 'viem';
import {
  buildWebApp,
  CHROMIUM,
  launchChromium,
  onboard,
  openPage,
  pageTraffic,
  restore,
  SHOTS,
  serveTogether,
  shoot,
} from './support/browser.ts';
import { cast, newIdentity, startTestNode } from './support/harness.ts';

let DIST: string;
const COMMIT_WINDOW = 120;
const REVEAL_WINDOW = 120;
/** The candidate's evidence: it exists in the clear only in the browsers and this test. */
const EVIDENCE = `Medical licence MB-LIC-${crypto.randomUUID()} — Dr Candidate, cardiology, board of 2026`;
const FORGED = `Licence MB-FORGED-${crypto.randomUUID()} — issued by nobody`;

let testNode: Awaited<ReturnType<typeof startTestNode>>;
let server: http.Server;
let origin: string;
let browser: Browser;
const traffic = pageTraffic();
const { bodies, consoleErrors } = traffic;
const openPages: Page[] = [];

async function newPage() {
  const opened = await openPage(browser, origin, traffic);
  openPages.push(opened.page);
  return opened;
}

before(async () => {
  DIST = await buildWebApp();
  await mkdir(SHOTS, { recursive: true });
  testNode = await startTestNode();
  ({ server, origin } = await serveTogether(testNode.node.url, DIST));
  browser = await launchChromium();
});

after(async () => {
  // On a failure, what each page showed last helps more than a timeout.
  for (const [i, p] of openPages.entries()) {
    if (p.isClosed()) continue;
    const text =
      (await p
        .locator('main')
        .textContent()
        .catch(() => null)) ?? '';
    console.error(`--- page ${i}:\n${text.slice(0, 3000)}`);
  }
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await testNode?.stop();
});

async function rpc(method: string, params: unknown[] = []) {
  const res = await fetch(testNode.node.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await res.json()) as { result: unknown }).result;
}

/** Embedded anvil only: moves chain time forward and mines a block. */
async function advance(seconds: number) {
  await rpc('evm_increaseTime', [seconds]);
  await rpc('evm_mine');
}

type Identity = ReturnType<typeof newIdentity>;
/** Plaintext and keys that must never appear in a request body from any page. */
const secrets: string[] = [];
function keep(...ids: Identity[]) {
  for (const id of ids)
    secrets.push(
      id.mnemonic,
      id.signingKey.slice(2).toLowerCase(),
      Buffer.from(id.encryption.privateKey).toString('hex'),
      Buffer.from(id.encryption.privateKey).toString('base64'),
    );
}
function assertNoSecretSent() {
  assert.ok(bodies.length > 15, `captured ${bodies.length} request bodies`);
  for (const { url, body } of bodies) {
    const text = body.toString('latin1').toLowerCase();
    for (const f of secrets)
      assert.ok(!text.includes(f.toLowerCase()), `a request to ${url} carried a secret (${f.slice(0, 12)}…)`);
  }
}

/** What the first test leaves for the second: the council, the SDK reviewers, the browser reviewer's page. */
let world:
  | {
      c: Awaited<ReturnType<typeof cast>>;
      sdkReviewers: MedblocClient[];
      reviewerPage: Page;
      /** The authority the council added from the page. */
      memberId: Identity;
    }
  | undefined;

test('a provider is certified by peer review in the browser: apply, queue, sealed votes, reveal, finalize', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  const started = Date.now();
  // The council (the SDK authority, gas from the dev faucet) shortens the windows and sets a panel of three.
  const c = await cast(testNode.node);
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
  // Two reviewers through the SDK: certified by the council (100 MP reward) and staked.
  const sdkReviewers: MedblocClient[] = [];
  for (let i = 0; i < 2; i++) {
    const r = createClient({ node: testNode.node.url, identity: newIdentity() });
    await r.register({ roles: ['provider'] });
    await c.authority.councilCertify(r.address, { role: 'provider' });
    await r.stake(100);
    sdkReviewers.push(r);
  }
  // The third reviewer is certified by the council too, and stakes in the browser.
  const reviewerId = newIdentity();
  const reviewerSdk = createClient({ node: testNode.node.url, identity: reviewerId });
  await reviewerSdk.register({ roles: ['provider'] });
  await c.authority.councilCertify(reviewerSdk.address, { role: 'provider' });

  const reviewer = await newPage();
  const rp = reviewer.page;
  await restore(rp, reviewerId.mnemonic);
  await rp.getByRole('link', { name: 'Provider' }).click();
  await rp
    .getByTestId('cert-status')
    .filter({ hasText: 'Certified provider by the authority council' })
    .waitFor();
  await rp.getByTestId('mp-balance').filter({ hasText: '100 MP free · 0 MP staked' }).waitFor();
  await rp.getByText('Stake at least 40 MP to be drawn as a reviewer.').waitFor();
  await rp.getByLabel('MP to stake').fill('100');
  await rp.getByRole('button', { name: 'Stake MP' }).click();
  await rp.getByText('Staked 100 MP.').waitFor();
  await rp.getByTestId('mp-balance').filter({ hasText: '0 MP free · 100 MP staked' }).waitFor();
  await rp.getByText('You are in the reviewer pool.').waitFor();
  assert.equal((await reviewerSdk.balances()).mp.staked, parseEther('100').toString());
  await rp.getByText('No review is assigned to you.').waitFor();
  await shoot(rp, 'cert-reviewer-stake');

  // The candidate onboards in the browser, is not certified, takes test MED and applies with an evidence file.
  const candidate = await newPage();
  const cp = candidate.page;
  const candidateId = await onboard(cp, 'Provider');
  await cp.getByRole('link', { name: 'Provider' }).click();
  await cp.getByTestId('cert-status').filter({ hasText: 'Not certified yet' }).waitFor();
  await cp.getByRole('heading', { name: 'Apply for certification by peer review' }).waitFor();
  await cp
    .getByTestId('med-balance')
    .filter({ hasText: 'Your balance: 0 MED · minimum bond 50 MED' })
    .waitFor();
  await cp.getByRole('button', { name: 'Get 100 test MED' }).click();
  await cp.getByTestId('med-balance').filter({ hasText: 'Your balance: 100 MED' }).waitFor();
  assert.equal(await cp.getByLabel('Bond (MED)').inputValue(), '50');
  await cp.getByLabel('Evidence file').setInputFiles({
    name: 'licence.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(EVIDENCE),
  });
  await cp.getByText('licence.txt').waitFor();
  await shoot(cp, 'cert-apply');
  await cp.getByRole('button', { name: 'Apply for certification', exact: true }).click();
  const caseCard = cp.getByTestId('case').first();
  await caseCard
    .getByTestId('case-counts')
    .filter({ hasText: 'Reviewers drawn: 3' })
    .waitFor({ timeout: 90_000 });
  const applicationId = Number(await caseCard.getAttribute('data-application'));
  assert.ok(applicationId > 0);
  // The evidence went up sealed: its upload is among the captured bodies (checked for plaintext below).
  const uploads = bodies.filter((b) => new URL(b.url).pathname === '/v1/blobs');
  assert.ok(
    uploads.some((b) => b.body.length > Buffer.byteLength(EVIDENCE)),
    'the sealed evidence upload was captured',
  );
  await caseCard.getByText('Reviewers are voting in secret (commit)').waitFor();
  await caseCard.getByText('committed 0 of 3 · revealed 0 of 3').waitFor();
  // The apply form is gone while the case is open.
  assert.equal(await cp.getByRole('heading', { name: 'Apply for certification by peer review' }).count(), 0);
  await shoot(cp, 'cert-case');

  // On chain and at the node: the case, its panel of all three stakers, the bond held, the evidence sealed.
  const detail = await c.patient.application(applicationId);
  assert.equal(detail.candidate, candidateId.address);
  assert.deepEqual(
    detail.reviewers.map((r) => r.reviewer).sort(),
    [...sdkReviewers.map((r) => r.address), reviewerSdk.address].sort(),
  );
  assert.equal(
    (await c.patient.balances(candidateId.address)).med,
    parseEther('50').toString(),
    'the 50 MED bond is held',
  );

  // The authority's queue shows the case while it is pending; the authority adds a council member from the page.
  const authority = await newPage();
  const ap = authority.page;
  await restore(ap, c.ids.authority.mnemonic);
  await ap.getByRole('link', { name: 'Authority' }).click();
  const queued = ap.locator(`[data-testid=queue-case][data-application="${applicationId}"]`);
  await queued.getByText('Reviewers are voting in secret (commit)').waitFor();
  await queued.getByText('3 reviewers · 0 committed · 0 revealed').waitFor();
  await ap.getByTestId('council-parameters').filter({ hasText: '3 reviewers per case, quorum 2' }).waitFor();
  await ap.getByText('Change the certification parameters').first().waitFor();
  const memberId = newIdentity();
  const newMember = memberId.address;
  await ap.getByLabel('Authority address').fill(newMember);
  await ap.getByRole('button', { name: 'Propose adding this authority' }).click();
  await ap.getByText(/Proposal #\d+ approved and executed\./).waitFor({ timeout: 60_000 });
  // The node's index files the proposal a poll later: refresh until it is listed, executed.
  const proposal = ap.getByTestId('proposal').filter({ hasText: `Add authority ${newMember}` });
  const executed = proposal.getByText('executed', { exact: true });
  for (let i = 0; i < 30 && !(await executed.count()); i++) {
    await ap.getByRole('button', { name: 'Refresh proposals' }).click();
    await ap.waitForTimeout(300);
  }
  await executed.waitFor();
  assert.ok((await c.patient.certificationParameters()).authorities.includes(newMember));
  await shoot(ap, 'cert-authority-queue');

  // The browser reviewer opens the evidence (decrypted in the page) and commits a sealed approval.
  await rp.getByRole('button', { name: 'Check for reviews' }).click();
  const review = rp.locator(`[data-testid=review][data-application="${applicationId}"]`);
  await review.getByRole('button', { name: 'Open the evidence' }).click();
  await review.getByTestId('evidence-text').filter({ hasText: EVIDENCE }).waitFor();
  await review.getByRole('radio', { name: 'Approve' }).check();
  await review.getByRole('button', { name: 'Commit sealed vote' }).click();
  await review.getByText('Your sealed vote is committed. Nobody can see it until you reveal it.').waitFor();
  await review.getByTestId('my-ballot').filter({ hasText: 'approve, kept in this browser' }).waitFor();
  await shoot(rp, 'cert-review-commit');
  // The kept ballot is ciphertext in this browser's storage, under this identity's entry only.
  const stored = await rp.evaluate(
    (address) => localStorage.getItem(`medbloc.ballots.v1.${address.toLowerCase()}`),
    reviewerId.address,
  );
  assert.ok(stored, 'the ballot is kept in this browser');
  const entry = (JSON.parse(stored) as Record<string, { iv: string; ct: string }>)[String(applicationId)];
  assert.ok(entry?.iv && entry.ct);
  assert.doesNotMatch(stored, /approve|salt|true/);

  // The SDK reviewers open the evidence and commit.
  const salts: `0x${string}`[] = [];
  for (const r of sdkReviewers) {
    assert.equal(new TextDecoder().decode(await r.openEvidence(applicationId)), EVIDENCE);
    salts.push((await r.commitVote(applicationId, true)).salt);
  }
  // Before the reveal, the candidate sees that three committed, and no vote.
  await caseCard.getByRole('button', { name: 'Refresh case' }).click();
  await caseCard.getByText('committed 3 of 3 · revealed 0 of 3').waitFor();
  assert.equal(await caseCard.locator('.panel .badge', { hasText: /approve|reject/ }).count(), 0);
  assert.equal(await caseCard.getByText('sealed vote').count(), 3);

  // The reveal window: the browser reviewer reveals from its kept ballot, the SDK reviewers with their salts.
  await advance(COMMIT_WINDOW + 1);
  await review.getByRole('button', { name: 'Refresh case' }).click();
  const reviewAgain = rp.locator(`[data-testid=review][data-application="${applicationId}"]`);
  await reviewAgain.getByText('Reviewers are revealing their votes').waitFor();
  await reviewAgain.getByRole('button', { name: 'Reveal my vote' }).click();
  await reviewAgain.getByText('Your vote (approve) is revealed.').waitFor();
  for (const [i, r] of sdkReviewers.entries()) await r.revealVote(applicationId, true, salts[i]!);
  await caseCard.getByRole('button', { name: 'Refresh case' }).click();
  await caseCard.getByText('committed 3 of 3 · revealed 3 of 3').waitFor();
  assert.equal(await caseCard.locator('.panel .badge', { hasText: 'approve' }).count(), 3);
  await queued.waitFor(); // still queued until finalized

  // After the reveal window the candidate finalizes in the page and is certified by peer review.
  await advance(REVEAL_WINDOW + 1);
  await caseCard.getByRole('button', { name: 'Refresh case' }).click();
  await caseCard.getByText('Voting is over: the case can be finalized').waitFor();
  await caseCard.getByRole('button', { name: 'Finalize' }).click();
  await caseCard.getByText(`Case #${applicationId} finalized: approved.`).waitFor();
  await caseCard.getByText('Decided: approved').waitFor();
  await caseCard.getByText('50 MED returned').waitFor();
  await cp.getByRole('button', { name: 'Check again' }).click();
  await cp
    .getByTestId('cert-status')
    .filter({ hasText: new RegExp(`^Certified provider by peer review #${applicationId} until `) })
    .waitFor();
  // Now certified, the candidate can review too (it holds the MP certification reward, unstaked).
  await cp.getByRole('heading', { name: 'Peer review', exact: true }).waitFor();
  await shoot(cp, 'cert-certified');
  const status = (await c.patient.certificationStatus(candidateId.address)).roles.find(
    (x) => x.role === 'provider',
  );
  assert.ok(status?.issued && status.certified && status.via === 'peer-review');
  assert.equal(status.applicationId, applicationId);

  // The reviewer sees the outcome and its reward; the authority's queue is empty.
  await reviewAgain.getByRole('button', { name: 'Refresh case' }).click();
  await reviewAgain
    .getByTestId('review-outcome')
    .filter({ hasText: 'Outcome: approved (3 approve, 0 reject). You voted approve. Reward: 10 MP.' })
    .waitFor();
  await shoot(rp, 'cert-review-outcome');
  await ap.getByRole('button', { name: 'Refresh queue' }).click();
  await ap.getByText('No case is pending.').waitFor();

  // Nothing secret left any browser: no evidence plaintext, no phrase, no private key.
  secrets.push(EVIDENCE, 'MB-LIC-');
  keep(candidateId, reviewerId, c.ids.authority);
  assertNoSecretSent();
  assert.deepEqual(consoleErrors, [], 'no page logged an error');
  console.log(
    `web certification e2e: case #${applicationId}, ${bodies.length} request bodies checked, ${Math.round((Date.now() - started) / 1000)} s`,
  );
  await Promise.all([candidate, authority].map((x) => x.context.close()));
  world = { c, sdkReviewers, reviewerPage: rp, memberId };
});

test('a rejected candidate sees the decision and appeals once in the browser; the minority reviewer sees its slash', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  assert.ok(world, 'the first test set up the reviewers');
  const { c, sdkReviewers, reviewerPage: rp } = world;
  const candidate = await newPage();
  const cp = candidate.page;
  const candidateId = await onboard(cp, 'Provider');
  keep(candidateId);
  secrets.push(FORGED, 'MB-FORGED-');
  await cp.getByRole('link', { name: 'Provider' }).click();
  await cp.getByRole('button', { name: 'Get 100 test MED' }).click();
  await cp.getByTestId('med-balance').filter({ hasText: 'Your balance: 100 MED' }).waitFor();
  await cp.getByLabel('Evidence file').setInputFiles({
    name: 'licence.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from(FORGED),
  });
  await cp.getByRole('button', { name: 'Apply for certification', exact: true }).click();
  const first = cp.getByTestId('case').first();
  await first
    .getByTestId('case-counts')
    .filter({ hasText: 'Reviewers drawn: 3' })
    .waitFor({ timeout: 90_000 });
  const applicationId = Number(await first.getAttribute('data-application'));
  await cp.getByText('Your application is being decided by peer review: see your case below.').waitFor();

  // The browser reviewer approves; the two SDK reviewers reject: the browser reviewer is in the minority.
  await rp.getByRole('button', { name: 'Check for reviews' }).click();
  const review = rp.locator(`[data-testid=review][data-application="${applicationId}"]`);
  await review.getByRole('button', { name: 'Open the evidence' }).click();
  await review.getByTestId('evidence-text').filter({ hasText: FORGED }).waitFor();
  await review.getByRole('radio', { name: 'Approve' }).check();
  await review.getByRole('button', { name: 'Commit sealed vote' }).click();
  await review.getByText('Your sealed vote is committed. Nobody can see it until you reveal it.').waitFor();
  const salts: `0x${string}`[] = [];
  for (const r of sdkReviewers) salts.push((await r.commitVote(applicationId, false)).salt);
  await advance(COMMIT_WINDOW + 1);
  await review.getByRole('button', { name: 'Refresh case' }).click();
  await review.getByRole('button', { name: 'Reveal my vote' }).click();
  await review.getByText('Your vote (approve) is revealed.').waitFor();
  for (const [i, r] of sdkReviewers.entries()) await r.revealVote(applicationId, false, salts[i]!);
  await advance(REVEAL_WINDOW + 1);

  // The candidate finalizes: rejected, half the bond forfeited, still not certified; one appeal is offered.
  await first.getByRole('button', { name: 'Refresh case' }).click();
  await first.getByRole('button', { name: 'Finalize' }).click();
  await first.getByText('Decided: rejected').waitFor();
  await first.getByText('25 MED returned · 25 MED forfeited').waitFor();
  await cp.getByRole('button', { name: 'Check again' }).click();
  await cp.getByTestId('cert-status').filter({ hasText: 'Not certified yet' }).waitFor();
  assert.equal((await c.patient.application(applicationId)).status, 'rejected');
  await shoot(cp, 'cert-rejected');

  // The minority reviewer sees the outcome and its slash (20% of the 40 MP locked).
  await review.getByRole('button', { name: 'Refresh case' }).click();
  await review
    .getByTestId('review-outcome')
    .filter({ hasText: 'Outcome: rejected (1 approve, 2 reject). You voted approve. Slashed: 8 MP.' })
    .waitFor();

  // One appeal: a fresh panel, the same sealed evidence shared with it; no second appeal is offered.
  await first.getByRole('button', { name: 'Appeal this decision (once)' }).click();
  await cp.getByText(/Appeal #\d+ opened: 3 new reviewers drawn\./).waitFor({ timeout: 90_000 });
  const appeal = cp.getByTestId('case').filter({ hasText: `appeal of case #${applicationId}` });
  await appeal.getByText('Reviewers are voting in secret (commit)').waitFor();
  const appealId = Number(await appeal.getAttribute('data-application'));
  const rejected = cp.locator(`[data-testid=case][data-application="${applicationId}"]`);
  await rejected.getByRole('button', { name: 'Refresh case' }).click();
  await rejected.getByText('Decided: rejected').waitFor();
  assert.equal(await cp.getByRole('button', { name: 'Appeal this decision (once)' }).count(), 0);
  const detail = await c.patient.application(appealId);
  assert.equal(detail.kind, 'appeal');
  assert.equal(detail.appealOf, applicationId);
  await shoot(cp, 'cert-appeal');
  await rp.getByRole('button', { name: 'Check for reviews' }).click();
  const appealReview = rp.locator(`[data-testid=review][data-application="${appealId}"]`);
  await appealReview.getByRole('button', { name: 'Open the evidence' }).click();
  await appealReview.getByTestId('evidence-text').filter({ hasText: FORGED }).waitFor();

  assertNoSecretSent();
  assert.deepEqual(consoleErrors, [], 'no page logged an error');
  await Promise.all([candidate.context.close(), rp.context().close()]);
});

test('a council proposal waits for the threshold: one authority proposes in the page, another approves and it executes', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  assert.ok(world, 'the first test added a second authority');
  const { c, memberId } = world;
  keep(memberId);
  // Setup outside the page: the council now requires two approvals (proposed and executed at threshold one).
  const { council } = (await c.patient.nodeInfo()).contracts as unknown as { council: Address };
  const transport = viemHttp(testNode.node.rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 100 });
  const { request } = await publicClient.simulateContract({
    account: c.ids.authority.account,
    address: council,
    abi: authorityCouncilAbi,
    functionName: 'proposeThreshold',
    args: [2n],
  });
  const hash = await createWalletClient({ account: c.ids.authority.account, transport }).writeContract(
    request,
  );
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  const [created] = parseEventLogs({
    abi: authorityCouncilAbi,
    logs: receipt.logs,
    eventName: 'ProposalCreated',
  });
  const raised = await c.authority.approveProposal((created!.args as { proposalId: bigint }).proposalId);
  assert.equal(raised.executed, true);
  assert.equal((await c.patient.certificationParameters()).threshold, 2);

  // The first authority proposes a longer commit window in the page: it stays open with one approval of two.
  const first = await newPage();
  const ap = first.page;
  await restore(ap, c.ids.authority.mnemonic);
  await ap.getByRole('link', { name: 'Authority' }).click();
  await ap.getByText('a proposal passes with 2 approvals.').waitFor();
  await ap.getByText('Require 2 approvals for proposals').waitFor();
  await ap.getByLabel('Commit window (seconds)').fill('150');
  await ap.getByRole('button', { name: 'Propose these parameters' }).click();
  const pending = ap.getByText(/Proposal #(\d+): 1 of 2 approvals so far\./);
  await pending.waitFor({ timeout: 60_000 });
  const proposalId = Number(/#(\d+)/.exec((await pending.textContent()) ?? '')![1]);
  assert.equal((await c.patient.certificationParameters()).parameters.commitWindow, COMMIT_WINDOW);

  // The second authority (registered, no gas yet) takes test gas and approves in its page: executed.
  const memberSdk = createClient({ node: testNode.node.url, identity: memberId });
  await memberSdk.register({ roles: ['patient'] });
  const second = await newPage();
  const mp = second.page;
  await restore(mp, memberId.mnemonic);
  await mp.getByRole('link', { name: 'Authority' }).click();
  const row = mp.locator(`[data-testid=proposal][data-proposal="${proposalId}"]`);
  for (let i = 0; i < 30 && !(await row.count()); i++) {
    await mp.getByRole('button', { name: 'Refresh proposals' }).click();
    await mp.waitForTimeout(300);
  }
  await row.getByText('1 of 2 approvals').waitFor();
  await shoot(mp, 'cert-council-approve');
  await mp.getByRole('button', { name: 'Get test gas' }).click();
  await mp.getByText('Test gas received.').waitFor();
  await row.getByRole('button', { name: `Approve #${proposalId}` }).click();
  await mp.getByText(`Proposal #${proposalId} approved and executed.`).waitFor({ timeout: 60_000 });
  assert.equal((await c.patient.certificationParameters()).parameters.commitWindow, 150);
  for (let i = 0; i < 30 && !(await row.getByText('executed', { exact: true }).count()); i++) {
    await mp.getByRole('button', { name: 'Refresh proposals' }).click();
    await mp.waitForTimeout(300);
  }
  await row.getByText('executed', { exact: true }).waitFor();
  await mp.getByTestId('council-parameters').filter({ hasText: 'commit window 150 s' }).waitFor();

  assertNoSecretSent();
  assert.deepEqual(consoleErrors, [], 'no page logged an error');
  await Promise.all([first.context.close(), second.context.close()]);
});

test('status in plain words: a revoked provider, and a researcher who can apply as a researcher', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  assert.ok(world, 'the first test set up the cast');
  const { c } = world;
  keep(c.ids.provider);
  // The SDK cast's provider was certified directly by the authority; the page names that authority.
  const provider = await newPage();
  const pp = provider.page;
  await restore(pp, c.ids.provider.mnemonic);
  await pp.getByRole('link', { name: 'Provider' }).click();
  await pp
    .getByTestId('cert-status')
    .filter({ hasText: new RegExp(`^Certified provider by authority ${c.authority.address} until `) })
    .waitFor();
  assert.equal(await pp.getByRole('heading', { name: 'Apply for certification by peer review' }).count(), 0);
  await c.authority.revokeCertification(c.provider.address, 'provider');
  await pp.getByRole('button', { name: 'Check again' }).click();
  await pp
    .getByTestId('cert-status')
    .filter({ hasText: `Certification revoked (it was issued by authority ${c.authority.address})` })
    .waitFor();
  // Revoked, the provider may apply by peer review; the reviewer corner is gone.
  await pp.getByRole('heading', { name: 'Apply for certification by peer review' }).waitFor();
  await pp.getByRole('heading', { name: 'Peer review', exact: true }).waitFor({ state: 'detached' });
  await shoot(pp, 'cert-revoked');

  // A researcher's portal: not certified as a researcher, and the application is for the researcher role.
  const researcherId = newIdentity();
  keep(researcherId);
  await createClient({ node: testNode.node.url, identity: researcherId }).register({ roles: ['researcher'] });
  const research = await newPage();
  const rp = research.page;
  await restore(rp, researcherId.mnemonic);
  await rp.getByRole('link', { name: 'Research' }).click();
  await rp
    .getByTestId('researcher-cert-status')
    .filter({ hasText: 'Not certified as a researcher yet' })
    .waitFor();
  assert.equal(await rp.getByLabel('Certify me as').inputValue(), 'researcher');
  await rp.getByTestId('med-balance').filter({ hasText: 'Your balance: 0 MED' }).waitFor();
  await shoot(rp, 'cert-researcher');

  assertNoSecretSent();
  assert.deepEqual(consoleErrors, [], 'no page logged an error');
  await Promise.all([provider.context.close(), research.context.close()]);
});
