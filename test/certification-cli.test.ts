/**
 * Peer review as users drive it with the `medbloc` CLI: an authority (seated on the council by the operator) shortens
 * the windows by a governed proposal and certifies reviewers through the council; they stake; a candidate applies
 * with an evidence file; the drawn reviewers list their cases, read the evidence, commit (the salt kept beside their
 * keystore), reveal, and anyone finalises; `cert status` tells who certified whom. Chain time is advanced on the
 * test's embedded anvil only. Bad input fails with one line and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliUser, startTestNode, tempDir } from './support/harness.ts';

const WINDOW = 60;

describe('peer review through the CLI', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let keys: string;
  const addr: Record<string, string> = {};
  const { ok, json, fails } = cliUser(() => ({
    MEDBLOC_NODE: t.node.url,
    MEDBLOC_KEYS_DIR: keys,
    MEDBLOC_PASSPHRASE: 'a long passphrase',
    MEDBLOC_HOME: t.home,
  }));
  /** The test's own embedded anvil: chain time moves on, as the windows would in real life. */
  const advance = async (seconds: number) => {
    for (const [method, params] of [
      ['evm_increaseTime', [seconds]],
      ['evm_mine', []],
    ] as const) {
      await fetch(t.node.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
    }
  };
  const reviewers = ['r1', 'r2', 'r3'];

  before(async () => {
    t = await startTestNode();
    keys = await tempDir('medbloc-keys-');
    for (const id of ['authority', ...reviewers, 'candidate', 'outsider', 'board2']) {
      addr[id] = (await json<{ address: string }>(['--id', id, 'init'])).address;
    }
    await t.node.addAuthority(addr.authority as `0x${string}`);
    await ok(['--id', 'authority', 'account', 'register']);
    await ok(['--id', 'authority', 'cert', 'faucet', '--med', '0']); // gas for its council transactions
  });
  after(() => t.stop());

  test('the council shortens the windows and certifies stakers; a candidate is peer-reviewed to certification', async () => {
    const changed = await ok([
      '--id',
      'authority',
      'authority',
      'params',
      '--review-size',
      '3',
      '--quorum',
      '2',
      '--commit-window',
      String(WINDOW),
      '--reveal-window',
      String(WINDOW),
    ]);
    assert.match(changed.stdout, /Proposal #\d+ to set .*commitWindow=60.*: executed/);
    const params = await json<{ parameters: { commitWindow: number; reviewSize: number } }>([
      'authority',
      'params',
    ]);
    assert.deepEqual([params.parameters.commitWindow, params.parameters.reviewSize], [WINDOW, 3]);

    for (const r of reviewers) {
      await ok(['--id', r, 'account', 'register', '--role', 'provider']);
      const certified = await ok(['--id', 'authority', 'authority', 'certify', addr[r]!, '--council']);
      assert.match(certified.stdout, /through the authority council/);
      const staked = await ok(['--id', r, 'cert', 'stake']);
      assert.match(staked.stdout, /Staked 100 MP/);
    }

    await ok(['--id', 'candidate', 'account', 'register', '--role', 'provider']);
    await ok(['--id', 'candidate', 'cert', 'faucet']);
    const evidence = path.join(keys, 'licence.txt');
    const licence = `Licence ${crypto.randomUUID()}: Dr Candidate, general practice`;
    await writeFile(evidence, licence);
    const applied = await json<{ applicationId: number; reviewers: string[] }>([
      '--id',
      'candidate',
      'cert',
      'apply',
      '--role',
      'provider',
      '--evidence',
      evidence,
    ]);
    const id = String(applied.applicationId);
    assert.deepEqual([...applied.reviewers].sort(), reviewers.map((r) => addr[r]).sort());

    const listed = await ok(['--id', 'r1', 'cert', 'review', 'list']);
    assert.match(
      listed.stdout,
      new RegExp(`#${id} application of ${addr.candidate} as provider — commit until`),
    );
    assert.match(listed.stdout, /your ballot: drawn/);
    const out = path.join(keys, 'evidence-r1.txt');
    await ok(['--id', 'r1', 'cert', 'review', 'evidence', id, '-o', out]);
    assert.equal(await readFile(out, 'utf8'), licence);
    await ok(['--id', 'outsider', 'account', 'register', '--role', 'provider']);
    await fails(['--id', 'outsider', 'cert', 'review', 'evidence', id], 'NOT_REVIEWER');

    for (const r of reviewers) {
      const c = await ok(['--id', r, 'cert', 'review', 'commit', id, '--approve']);
      assert.match(c.stdout, /Committed a sealed vote/);
    }
    // The salt lives beside the keystore, readable by its owner only.
    const ballots = await readdir(path.join(keys, 'ballots'));
    assert.equal(ballots.length, 3);
    assert.equal((await stat(path.join(keys, 'ballots', ballots[0]!))).mode & 0o777, 0o600);
    await fails(['--id', 'r1', 'cert', 'review', 'commit', id, '--reject'], 'ALREADY_COMMITTED');
    const sealed = await ok(['--id', 'outsider', 'cert', 'show', id]);
    assert.equal((sealed.stdout.match(/: committed$/gm) ?? []).length, 3);
    assert.doesNotMatch(sealed.stdout, /approve/);
    await fails(['--id', 'r1', 'cert', 'review', 'reveal', id], 'REVEAL_NOT_OPEN');

    await advance(WINDOW + 1);
    for (const r of reviewers) {
      const v = await ok(['--id', r, 'cert', 'review', 'reveal', id]);
      assert.match(v.stdout, new RegExp(`Revealed your vote on case #${id}: approve`));
    }
    await fails(['--id', 'outsider', 'cert', 'finalize', id], 'REVIEW_OPEN');
    await advance(WINDOW + 1);
    const done = await ok(['--id', 'outsider', 'cert', 'finalize', id]);
    assert.match(done.stdout, new RegExp(`Case #${id} finalised: approved`));

    const status = await ok(['--id', 'outsider', 'cert', 'status', addr.candidate!]);
    assert.match(
      status.stdout,
      new RegExp(
        `provider: certified by peer review \\(case #${id}\\) since \\d{4}-\\d\\d-\\d\\d, until \\d{4}`,
      ),
    );
    assert.match(status.stdout, /researcher: not certified/);
    const s = await json<{ roles: { role: string; certified: boolean; via?: string; expiresAt?: number }[] }>(
      ['--id', 'outsider', 'cert', 'status', addr.candidate!],
    );
    assert.deepEqual(
      s.roles.map((r) => [r.role, r.certified, r.via]),
      [
        ['provider', true, 'peer-review'],
        ['researcher', false, undefined],
      ],
    );
    const reviewer = await ok(['--id', 'outsider', 'cert', 'status', addr.r1!]);
    assert.match(reviewer.stdout, new RegExp(`provider: certified by authority ${addr.authority}`));
    const balance = await ok(['--id', 'r1', 'cert', 'balance']);
    assert.match(balance.stdout, /MP 10 free, 100 staked \(0 locked\)/); // the review reward
  });

  test('council membership: add, approve, proposals, remove', async () => {
    await ok(['--id', 'board2', 'account', 'register']);
    const added = await ok(['--id', 'authority', 'authority', 'add', addr.board2!]);
    assert.match(added.stdout, /Proposal #\d+ to add .*: executed/);
    const proposals = await ok(['--id', 'authority', 'authority', 'proposals']);
    assert.match(proposals.stdout, new RegExp(`add-authority by ${addr.authority} — executed`));
    const params = await json<{ authorities: string[] }>(['authority', 'params']);
    assert.ok(params.authorities.includes(addr.board2!));
    const removed = await ok(['--id', 'authority', 'authority', 'remove', addr.board2!]);
    assert.match(removed.stdout, /to remove .*: executed/);
    await fails(['--id', 'outsider', 'authority', 'add', addr.outsider!], 'NOT_AUTHORITY');
    await fails(['--id', 'authority', 'authority', 'approve', '99'], 'PROPOSAL_NOT_FOUND');
  });

  test('a certified provider challenges a certification with an evidence file', async () => {
    await ok(['--id', 'authority', 'authority', 'certify', addr.outsider!, '--council']);
    await ok(['--id', 'outsider', 'cert', 'faucet']);
    const file = path.join(keys, 'complaint.txt');
    await writeFile(file, 'complaint details');
    const c = await ok(['--id', 'outsider', 'cert', 'challenge', addr.candidate!, '--evidence', file]);
    assert.match(c.stdout, new RegExp(`Challenged ${addr.candidate}'s provider certification: case #\\d+`));
    const list = await ok(['--id', 'r2', 'cert', 'review', 'list']);
    assert.match(
      list.stdout,
      new RegExp(`challenge of ${addr.candidate}'s provider certification by ${addr.outsider}`),
    );
    await fails(['--id', 'candidate', 'cert', 'apply', '--evidence', file], 'CASE_OPEN');
  });

  test('bad input: one line and a non-zero exit', async () => {
    await fails(
      ['--id', 'candidate', 'cert', 'apply', '--role', 'dentist', '--evidence', 'x'],
      'INVALID_ROLE',
    );
    await fails(
      ['--id', 'candidate', 'cert', 'apply', '--evidence', path.join(keys, 'missing.pdf')],
      'NO_EVIDENCE',
    );
    await fails(
      ['--id', 'candidate', 'cert', 'apply', '--evidence', path.join(keys, 'licence.txt'), '--bond', 'lots'],
      'INVALID_AMOUNT',
    );
    await fails(['--id', 'r1', 'cert', 'review', 'commit', '1'], 'INVALID_VOTE');
    await fails(['--id', 'r1', 'cert', 'review', 'commit', 'abc', '--approve'], 'INVALID_ID');
    await fails(['--id', 'r1', 'cert', 'review', 'reveal', '99'], 'NO_BALLOT');
    await fails(['--id', 'r1', 'cert', 'finalize', '999'], 'APPLICATION_NOT_FOUND');
    await fails(['--id', 'r1', 'cert', 'status', 'nobody'], 'INVALID_ADDRESS');
    await fails(['--id', 'r1', 'cert', 'list', '--status', 'maybe'], 'INVALID_STATUS');
    await fails(['--id', 'authority', 'authority', 'params', '--quorum', '0'], 'INVALID_PARAMETER');
  });
});
