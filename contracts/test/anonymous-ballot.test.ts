/**
 * Anonymous peer-review ballots on a real anvil: a case's drawn panel joins a Semaphore group, votes with real
 * Semaphore v4 proofs (circuit files from @zk-kit/semaphore-artifacts, by path) relayed by another account, and the
 * anonymous tally decides as PeerReview's public ballot does, with nothing on chain linking a ballot to a reviewer.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  anonymousBallotAbi,
  anonymousBallotBytecode,
  anonymousBallotLinkReferences,
  linkBytecode,
  poseidonT3Abi,
  poseidonT3Bytecode,
  semaphoreVerifierAbi,
  semaphoreVerifierBytecode,
  UnlinkedLibraryError,
} from '@medbloc/contracts';
import { domainFor } from '@medbloc/core';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import {
  type Abi,
  type Address,
  decodeFunctionData,
  getAddress,
  type Hex,
  type PrivateKeyAccount,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import {
  APPROVED,
  type CertificationFixture,
  NO_QUORUM,
  PENDING,
  setupCertification,
} from './certification-fixture.ts';
import { newUser, randomHash, revertsWith } from './fixture.ts';

const require = createRequire(import.meta.url);
const ARTIFACTS_DIR = path.dirname(require.resolve('@zk-kit/semaphore-artifacts/package.json'));
/** EIP-712 type of a relayed join (AnonymousBallot's typehash). */
const joinBallotTypes = {
  JoinBallot: [
    { name: 'caseId', type: 'uint256' },
    { name: 'reviewer', type: 'address' },
    { name: 'identityCommitment', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;
const REJECT = 0n;
const APPROVE = 1n;

/** A Semaphore proof as @semaphore-protocol/proof returns it (its declared type does not resolve under NodeNext). */
interface SemaphoreProof {
  merkleTreeDepth: number;
  merkleTreeRoot: string;
  message: string;
  nullifier: string;
  scope: string;
  points: readonly string[];
}

/** A Semaphore proof made locally by a reviewer, with the circuit files of its group's depth passed by path. */
async function prove(identity: Identity, group: Group, vote: bigint, scope: bigint): Promise<SemaphoreProof> {
  const depth = Math.max(1, group.depth);
  const proof: SemaphoreProof = await generateProof(identity, group, vote, scope, depth, {
    wasm: path.join(ARTIFACTS_DIR, `semaphore-${depth}.wasm`),
    zkey: path.join(ARTIFACTS_DIR, `semaphore-${depth}.zkey`),
  });
  return proof;
}

/** The proof as the contract's `SemaphoreProof` struct. */
function onChain(p: SemaphoreProof) {
  return {
    merkleTreeDepth: BigInt(p.merkleTreeDepth),
    merkleTreeRoot: BigInt(p.merkleTreeRoot),
    nullifier: BigInt(p.nullifier),
    message: BigInt(p.message),
    scope: BigInt(p.scope),
    points: p.points.map((x) => BigInt(x)),
  };
}

async function deploy(cf: CertificationFixture, abi: Abi, bytecode: Hex, args: readonly unknown[] = []) {
  const hash = await cf.relayer.deployContract({ abi, bytecode, args, chain: null } as never);
  const receipt = await cf.f.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
  assert.equal(receipt.status, 'success');
  return getAddress(receipt.contractAddress as Address);
}

const lower = (a: Address) => a.slice(2).toLowerCase();

describe('anonymous peer-review ballots (Semaphore v4)', () => {
  let cf: CertificationFixture;
  let ballot: { address: Address; abi: Abi };
  let relayerOfBallots: PrivateKeyAccount;
  let caseA: bigint;
  let caseB: bigint;
  let panelA: PrivateKeyAccount[];
  let panelB: PrivateKeyAccount[];
  let pool: PrivateKeyAccount[];
  const ids = new Map<Address, Identity>();
  const idsB = new Map<Address, Identity>();
  const salts = new Map<Address, Hex>();
  const ballotReceipts: TransactionReceipt[] = [];
  let groupA: Group;
  let groupB: Group;

  const join = (caseId: bigint, commitment: bigint, who: PrivateKeyAccount) =>
    cf.f.send(ballot, 'join', [caseId, commitment], who);
  const cast = (caseId: bigint, proof: SemaphoreProof) =>
    cf.f.send(ballot, 'castBallot', [caseId, onChain(proof)], relayerOfBallots);
  const outcome = async (caseId: bigint) => {
    const [status, approvals, rejections, members] = await cf.f.read<[number, number, number, number]>(
      ballot,
      'outcome',
      [caseId],
    );
    return { status, approvals, rejections, members };
  };

  before(async () => {
    cf = await setupCertification();
    pool = await cf.stakedPool(5);
    // Poseidon first: the ballot's Merkle tree calls it, so its address is linked into the ballot's bytecode.
    const poseidon = await deploy(cf, poseidonT3Abi as Abi, poseidonT3Bytecode);
    const verifier = await deploy(cf, semaphoreVerifierAbi as Abi, semaphoreVerifierBytecode);
    const linked = linkBytecode(anonymousBallotBytecode, anonymousBallotLinkReferences, {
      PoseidonT3: poseidon,
    });
    ballot = {
      address: await deploy(cf, anonymousBallotAbi as Abi, linked, [cf.c.peerReview, verifier]),
      abi: anonymousBallotAbi as Abi,
    };
    relayerOfBallots = newUser();
    await cf.fund(relayerOfBallots.address);

    caseA = (await cf.apply(await cf.user())).id;
    caseB = (await cf.apply(await cf.user())).id;
    panelA = (await cf.drawPanel(caseA)).reviewers;
    panelB = (await cf.drawPanel(caseB)).reviewers;
    for (const r of panelA) ids.set(r.address, new Identity());
    for (const r of panelB) idsB.set(r.address, new Identity());
  });

  after(async () => {
    await cf?.f.stop();
    // snarkjs keeps its BN254 curve (and the worker threads behind it) in a global: end them so the process exits.
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
  });

  test('linking refuses a missing library address', () => {
    assert.match(
      anonymousBallotBytecode,
      /__\$[0-9a-f]{34}\$__/,
      'the ballot bytecode has a Poseidon placeholder',
    );
    assert.throws(
      () => linkBytecode(anonymousBallotBytecode, anonymousBallotLinkReferences, {}),
      UnlinkedLibraryError,
    );
  });

  test('only the drawn panel joins the case group, each reviewer once and each commitment once', async (t) => {
    const outsider = pool.find((p) => !panelA.some((r) => r.address === p.address)) as PrivateKeyAccount;
    assert.ok(outsider, 'a staked provider not drawn for case A');
    await assert.rejects(
      join(caseA, new Identity().commitment, outsider),
      revertsWith('AnonymousBallotNotReviewer'),
    );
    const [first, second, third] = panelA as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const idOf = (r: PrivateKeyAccount) => ids.get(r.address) as Identity;
    const receipt = await join(caseA, idOf(first).commitment, first);
    t.diagnostic(`join gas (first member): ${receipt.gasUsed}`);
    const [joined] = parseEventLogs({
      abi: anonymousBallotAbi,
      logs: receipt.logs,
      eventName: 'MemberJoined',
    });
    assert.equal(joined?.args.reviewer, first.address);
    assert.equal(joined?.args.identityCommitment, idOf(first).commitment);
    await assert.rejects(
      join(caseA, new Identity().commitment, first),
      revertsWith('AnonymousBallotAlreadyJoined'),
    );
    // Another member cannot add the first one's commitment (it would make one identity count for two seats).
    await assert.rejects(join(caseA, idOf(first).commitment, second), revertsWith('LeafAlreadyExists'));
    await assert.rejects(join(caseA, 0n, second), revertsWith('LeafCannotBeZero'));
    await join(caseA, idOf(second).commitment, second);
    await join(caseA, idOf(third).commitment, third);
    // Case B's panel joins by signature, relayed by another account (reviewers need no gas of their own).
    const signJoin = async (signer: PrivateKeyAccount, commitment: bigint, deadline?: bigint) => {
      const message = {
        caseId: caseB,
        reviewer: signer.address,
        identityCommitment: commitment,
        nonce: await cf.f.read<bigint>(ballot, 'nonces', [signer.address]),
        deadline: deadline ?? (await cf.f.deadline()),
      };
      const signature = await signer.signTypedData({
        domain: domainFor(cf.f.deployment.chainId, ballot.address),
        types: joinBallotTypes,
        primaryType: 'JoinBallot',
        message,
      });
      return [caseB, signer.address, commitment, message.deadline, signature] as const;
    };
    const relayJoin = (args: readonly unknown[]) => cf.f.send(ballot, 'joinBySig', args, relayerOfBallots);
    const notOnB = pool.find((p) => !panelB.some((r) => r.address === p.address)) as PrivateKeyAccount;
    await assert.rejects(
      relayJoin(await signJoin(notOnB, new Identity().commitment)),
      revertsWith('AnonymousBallotNotReviewer'),
    );
    const [b0] = panelB as [PrivateKeyAccount];
    const b0Commitment = (idsB.get(b0.address) as Identity).commitment;
    const [, , , deadline, signature] = await signJoin(b0, b0Commitment);
    await assert.rejects(
      relayJoin([caseB, b0.address, new Identity().commitment, deadline, signature]),
      revertsWith('AnonymousBallotInvalidSignature'),
    );
    await assert.rejects(
      relayJoin(await signJoin(b0, b0Commitment, (await cf.f.now()) - 1n)),
      revertsWith('AnonymousBallotExpiredSignature'),
    );
    const signed = await signJoin(b0, b0Commitment);
    await relayJoin(signed);
    await assert.rejects(relayJoin(signed), revertsWith('AnonymousBallotInvalidSignature'), 'no replay');
    for (const r of panelB.slice(1))
      await relayJoin(await signJoin(r, (idsB.get(r.address) as Identity).commitment));
    assert.equal(await cf.f.read(ballot, 'hasJoined', [caseB, b0.address]), true);

    groupA = new Group(panelA.map((r) => idOf(r).commitment));
    groupB = new Group(panelB.map((r) => (idsB.get(r.address) as Identity).commitment));
    const [root, depth, size] = await cf.f.read<[bigint, bigint, bigint]>(ballot, 'groupOf', [caseA]);
    assert.equal(root, groupA.root, 'the on-chain group is the panel as a Semaphore client rebuilds it');
    assert.equal(depth, BigInt(groupA.depth));
    assert.equal(size, 3n);
    assert.equal(await cf.f.read(ballot, 'hasJoined', [caseA, first.address]), true);
    assert.equal(await cf.f.read(ballot, 'hasJoined', [caseA, outsider.address]), false);
    assert.deepEqual(await outcome(caseA), { status: PENDING, approvals: 0, rejections: 0, members: 3 });
  });

  test('ballots count once each, only in their case, only from members, and decide as the public ballot does', async () => {
    const [first, second, third] = panelA as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount];
    const idOf = (r: PrivateKeyAccount) => ids.get(r.address) as Identity;
    // Reviewers prove locally; the proofs below are real Groth16 proofs (about a second each).
    const firstApproves = await prove(idOf(first), groupA, APPROVE, caseA);
    await assert.rejects(cast(caseA, firstApproves), revertsWith('AnonymousBallotVotingNotOpen'));

    // The same reviewers also take part in PeerReview's public commit-reveal, with the same votes.
    const votes = new Map<Address, boolean>([
      [first.address, true],
      [second.address, true],
      [third.address, false],
    ]);
    for (const [who, approve] of votes) {
      const salt = randomHash();
      salts.set(who, salt);
      await cf.f.send(
        cf.review,
        'commitVote',
        [caseA, cf.commitment(caseA, who, approve, salt)],
        cf.byAddress.get(who) as PrivateKeyAccount,
      );
    }

    const a = await cf.applicationOf(caseA);
    const b = await cf.applicationOf(caseB);
    const commitEnd =
      (b.commitEnd as bigint) > (a.commitEnd as bigint) ? (b.commitEnd as bigint) : (a.commitEnd as bigint);
    await cf.f.advance(commitEnd - (await cf.f.now()) + 1n);
    await assert.rejects(
      join(caseA, new Identity().commitment, first),
      revertsWith('AnonymousBallotJoinClosed'),
    );

    ballotReceipts.push(await cast(caseA, firstApproves));
    assert.deepEqual(await outcome(caseA), { status: PENDING, approvals: 1, rejections: 0, members: 3 });
    assert.equal(await cf.f.read(ballot, 'isNullifierUsed', [caseA, BigInt(firstApproves.nullifier)]), true);

    // Double votes: the same proof again, and a fresh proof by the same member with the other vote (same nullifier).
    await assert.rejects(cast(caseA, firstApproves), revertsWith('AnonymousBallotNullifierUsed'));
    const firstChangesMind = await prove(idOf(first), groupA, REJECT, caseA);
    assert.equal(firstChangesMind.nullifier, firstApproves.nullifier);
    await assert.rejects(cast(caseA, firstChangesMind), revertsWith('AnonymousBallotNullifierUsed'));

    // Another case's scope: refused in this case, and in the other case (where this identity is no member).
    const forCaseB = await prove(idOf(second), groupA, APPROVE, caseB);
    await assert.rejects(cast(caseA, forCaseB), revertsWith('AnonymousBallotWrongScope'));
    await assert.rejects(cast(caseB, forCaseB), revertsWith('AnonymousBallotUnknownRoot'));

    // A non-member proves membership of a group it made up (the panel plus itself): not the case's group.
    const stranger = new Identity();
    const madeUp = new Group([...groupA.members, stranger.commitment]);
    const strangerVotes = await prove(stranger, madeUp, REJECT, caseA);
    await assert.rejects(cast(caseA, strangerVotes), revertsWith('AnonymousBallotUnknownRoot'));

    // A real member's proof with anything altered fails the Groth16 check.
    const secondApproves = await prove(idOf(second), groupA, APPROVE, caseA);
    await assert.rejects(
      cast(caseA, { ...secondApproves, message: REJECT.toString() }),
      revertsWith('AnonymousBallotInvalidProof'),
    );
    await assert.rejects(
      cast(caseA, { ...secondApproves, nullifier: (BigInt(secondApproves.nullifier) + 1n).toString() }),
      revertsWith('AnonymousBallotInvalidProof'),
    );
    await assert.rejects(
      cast(caseA, { ...secondApproves, message: '2' }),
      revertsWith('AnonymousBallotInvalidVote'),
    );
    await assert.rejects(
      cast(caseA, { ...secondApproves, merkleTreeDepth: 33 }),
      revertsWith('AnonymousBallotUnsupportedDepth'),
    );

    ballotReceipts.push(await cast(caseA, secondApproves));
    ballotReceipts.push(await cast(caseA, await prove(idOf(third), groupA, REJECT, caseA)));
    // Case B: one ballot only, below the quorum of 2.
    const [b1] = panelB as [PrivateKeyAccount];
    ballotReceipts.push(
      await cast(caseB, await prove(idsB.get(b1.address) as Identity, groupB, APPROVE, caseB)),
    );
    assert.deepEqual(await outcome(caseA), { status: PENDING, approvals: 2, rejections: 1, members: 3 });

    for (const [who, approve] of votes) {
      await cf.f.send(
        cf.review,
        'revealVote',
        [caseA, approve, salts.get(who)],
        cf.byAddress.get(who) as PrivateKeyAccount,
      );
    }
    const revealEnd =
      (b.revealEnd as bigint) > (a.revealEnd as bigint) ? (b.revealEnd as bigint) : (a.revealEnd as bigint);
    await cf.f.advance(revealEnd - (await cf.f.now()) + 1n);
    await assert.rejects(
      cast(caseA, await prove(idOf(third), groupA, REJECT, caseA)),
      revertsWith('AnonymousBallotVotingNotOpen'),
    );

    assert.deepEqual(await outcome(caseA), { status: APPROVED, approvals: 2, rejections: 1, members: 3 });
    assert.deepEqual(await outcome(caseB), { status: NO_QUORUM, approvals: 1, rejections: 0, members: 3 });
    for (const id of [caseA, caseB]) {
      const receipt = await cf.f.send(cf.review, 'finalize', [id]);
      const [done] = parseEventLogs({
        abi: cf.review.abi,
        logs: receipt.logs,
        eventName: 'ApplicationFinalized',
      });
      const publicStatus = (done as unknown as { args: { status: number } }).args.status;
      assert.equal(
        (await outcome(id)).status,
        publicStatus,
        `case ${id}: the anonymous tally decides as PeerReview did`,
      );
    }
    assert.equal((await outcome(caseA)).status, APPROVED);
    assert.equal((await outcome(caseB)).status, NO_QUORUM);
    await assert.rejects(
      join(caseA, new Identity().commitment, first),
      revertsWith('AnonymousBallotNotPending'),
    );
  });

  test('nothing on chain links a ballot to a reviewer', async (t) => {
    assert.equal(ballotReceipts.length, 4);
    t.diagnostic(`castBallot gas: ${ballotReceipts.map((r) => r.gasUsed).join(', ')}`);
    const reviewers = [...panelA, ...panelB].map((r) => lower(r.address));
    for (const receipt of ballotReceipts) {
      const tx = await cf.f.publicClient.getTransaction({ hash: receipt.transactionHash });
      assert.equal(getAddress(tx.from), relayerOfBallots.address, 'a relayer sent the ballot');
      const input = tx.input.toLowerCase();
      const { functionName } = decodeFunctionData({ abi: anonymousBallotAbi, data: tx.input });
      assert.equal(functionName, 'castBallot');
      for (const r of reviewers) assert.ok(!input.includes(r), 'no reviewer address in the calldata');
      assert.equal(receipt.logs.length, 1, 'one event per ballot');
      const [log] = receipt.logs;
      const raw = `${(log?.topics ?? []).join('')}${log?.data ?? ''}`.toLowerCase();
      for (const r of reviewers) assert.ok(!raw.includes(r), 'no reviewer address in the event');
      const [event] = parseEventLogs({
        abi: anonymousBallotAbi,
        logs: receipt.logs,
        eventName: 'BallotCast',
      });
      assert.deepEqual(Object.keys(event?.args ?? {}).sort(), ['approve', 'caseId', 'nullifier']);
      // Nor does the nullifier reveal the identity commitment published when joining.
      const commitments = [...ids.values(), ...idsB.values()].map((i) => i.commitment);
      assert.ok(!commitments.includes(event?.args.nullifier as bigint));
    }
  });
});
