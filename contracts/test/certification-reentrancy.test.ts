/**
 * Reentrancy: peer review's only calls out are to the registry, MPPoints, MED and the council, fixed at construction;
 * MED has no transfer hooks. To show the guard holds anyway, a PeerReview is wired here to a hostile ERC-20 whose
 * transfers call back into it (finalize, draw, appeal) while a bond moves. Every reentrant call fails and the bond
 * moves exactly once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { peerReviewAbi, peerReviewBytecode } from '@medbloc/contracts';
import { applyForCertificationTypes, domainFor, Role } from '@medbloc/core';
import solc from 'solc';
import {
  type Abi,
  type Address,
  encodeFunctionData,
  type Hex,
  keccak256,
  type PrivateKeyAccount,
  parseEventLogs,
  toFunctionSelector,
  toHex,
} from 'viem';
import { deployContract } from '../../packages/node/src/chain/deploy.ts';
import { type CertificationFixture, MED, NO_QUORUM, setupCertification } from './certification-fixture.ts';
import { randomHash } from './fixture.ts';

const require = createRequire(import.meta.url);
const OPENZEPPELIN = path.dirname(require.resolve('@openzeppelin/contracts/package.json'));

/** An ERC-20 that, once armed, calls `target` with `payload` from inside its next transfer to or from `target`. */
const HOSTILE_TOKEN = `
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract HostileToken is ERC20 {
    address public target;
    bytes public payload;
    bool public armed;
    uint256 public attempts;
    bool public reentered;
    bytes public reentryError;

    constructor(address holder) ERC20("Hostile", "HOST") {
        _mint(holder, 1e30);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        armed = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && (from == target || to == target)) {
            armed = false;
            ++attempts;
            (bool ok, bytes memory ret) = target.call(payload);
            reentered = ok;
            reentryError = ret;
        }
    }
}
`;

function compileHostileToken(): { abi: Abi; bytecode: Hex } {
  const input = {
    language: 'Solidity',
    sources: { 'HostileToken.sol': { content: HOSTILE_TOKEN } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const findImports = (unit: string) => {
    const prefix = '@openzeppelin/contracts/';
    if (!unit.startsWith(prefix)) return { error: `cannot resolve ${unit}` };
    return { contents: readFileSync(path.join(OPENZEPPELIN, unit.slice(prefix.length)), 'utf8') };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  assert.deepEqual(errors, []);
  const c = out.contracts['HostileToken.sol'].HostileToken;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

const GUARD = toFunctionSelector('ReentrancyGuardReentrantCall()');

let x: CertificationFixture;
let pool: PrivateKeyAccount[];
let token: { address: Address; abi: Abi };
let review: { address: Address; abi: Abi };

before(async () => {
  x = await setupCertification();
  pool = await x.stakedPool(4);
  const hostile = compileHostileToken();
  const clients = { publicClient: x.f.publicClient, walletClient: x.relayer };
  token = {
    address: (
      await deployContract(clients, 'HostileToken', hostile.abi, hostile.bytecode, [x.f.admin.address])
    ).address,
    abi: hostile.abi,
  };
  const deployed = await deployContract(clients, 'PeerReview', peerReviewAbi as Abi, peerReviewBytecode, [
    x.f.deployment.accountRegistry,
    x.c.mpPoints,
    token.address,
    x.c.council,
  ]);
  review = { address: deployed.address, abi: peerReviewAbi as Abi };
  // The deployer still administers the registry and MP: wire this second peer review like the first.
  const role = (name: string) => keccak256(toHex(name));
  await x.f.send(x.f.accounts, 'grantRole', [role('CERTIFIER_ROLE'), review.address]);
  for (const name of ['MINTER_ROLE', 'SLASHER_ROLE', 'LOCKER_ROLE'])
    await x.f.send(x.points, 'grantRole', [role(name), review.address]);
});
after(() => x.f.stop());

/** The candidate bonds hostile tokens and the relayer submits its signed application; returns the case id. */
async function applyWith(candidate: PrivateKeyAccount, bond: bigint): Promise<bigint> {
  await x.f.send(token, 'transfer', [candidate.address, bond]);
  await x.f.send(token, 'approve', [review.address, bond], candidate);
  const message = {
    candidate: candidate.address,
    role: Role.provider,
    credentialHash: randomHash(),
    evidencePointer: randomHash(),
    bond,
    nonce: await x.f.nonceOf(review, candidate.address),
    deadline: await x.f.deadline(),
  };
  const signature = await candidate.signTypedData({
    domain: domainFor(x.f.deployment.chainId, review.address),
    types: applyForCertificationTypes,
    primaryType: 'ApplyForCertification',
    message,
  });
  const receipt = await x.f.send(review, 'applyBySig', [
    candidate.address,
    Role.provider,
    message.credentialHash,
    message.evidencePointer,
    bond,
    message.deadline,
    signature,
  ]);
  const [opened] = parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs, eventName: 'CaseOpened' });
  return opened?.args.applicationId as bigint;
}

async function lastReentry() {
  return {
    attempts: await x.f.read<bigint>(token, 'attempts'),
    reentered: await x.f.read<boolean>(token, 'reentered'),
    error: await x.f.read<Hex>(token, 'reentryError'),
  };
}

test('a token calling back into finalize while the bond is refunded is stopped; the bond moves once', async () => {
  const candidate = await x.user();
  const id = await applyWith(candidate, MED(50));
  await x.testClient.mine({ blocks: 1 });
  await x.f.send(review, 'draw', [id]);
  await x.f.advance(3n * 3600n); // nobody votes: no quorum, the bond is refunded
  await x.f.send(token, 'arm', [
    review.address,
    encodeFunctionData({ abi: peerReviewAbi, functionName: 'finalize', args: [id] }),
  ]);
  const receipt = await x.f.send(review, 'finalize', [id]);
  const [done] = parseEventLogs({
    abi: peerReviewAbi,
    logs: receipt.logs,
    eventName: 'ApplicationFinalized',
  });
  assert.equal(done?.args.status, NO_QUORUM);
  assert.equal(
    parseEventLogs({ abi: peerReviewAbi, logs: receipt.logs, eventName: 'ApplicationFinalized' }).length,
    1,
  );
  const r = await lastReentry();
  assert.equal(r.attempts, 1n);
  assert.equal(r.reentered, false);
  assert.equal(r.error, GUARD);
  assert.equal(await x.f.read(token, 'balanceOf', [candidate.address]), MED(50));
  assert.equal(await x.f.read(token, 'balanceOf', [review.address]), 0n);
  for (const p of pool) assert.equal(await x.f.read(x.points, 'lockedOf', [p.address]), 0n);
});

test('a token calling back into draw or appeal while a bond is taken is stopped', async () => {
  const candidate = await x.user();
  // The next application will be case `next`: arm the token to draw it from inside its own bond transfer.
  const next = (await x.f.read<bigint>(review, 'applicationCount')) + 1n;
  await x.f.send(token, 'arm', [
    review.address,
    encodeFunctionData({ abi: peerReviewAbi, functionName: 'draw', args: [next] }),
  ]);
  const id = await applyWith(candidate, MED(60));
  assert.equal(id, next);
  let r = await lastReentry();
  assert.equal(r.attempts, 2n);
  assert.equal(r.reentered, false);
  assert.equal(r.error, GUARD);
  assert.deepEqual(await x.f.read(review, 'reviewersOf', [id]), []);
  assert.equal(await x.f.read(token, 'balanceOf', [review.address]), MED(60));

  // Rejected, then the token tries to open the appeal from inside the refund of the bond's returned share.
  await x.testClient.mine({ blocks: 1 });
  await x.f.send(review, 'draw', [id]);
  const reviewers = await x.f.read<Address[]>(review, 'reviewersOf', [id]);
  const salts: Hex[] = [];
  for (const a of reviewers) {
    const reviewer = x.byAddress.get(a) as PrivateKeyAccount;
    const salt = randomHash();
    salts.push(salt);
    await x.f.send(review, 'commitVote', [id, x.commitment(id, a, false, salt)], reviewer);
  }
  await x.f.advance(3601n);
  for (const [i, a] of reviewers.entries())
    await x.f.send(review, 'revealVote', [id, false, salts[i]], x.byAddress.get(a) as PrivateKeyAccount);
  await x.f.advance(3600n);
  await x.f.send(token, 'arm', [
    review.address,
    encodeFunctionData({ abi: peerReviewAbi, functionName: 'appeal', args: [id] }),
  ]);
  await x.f.send(review, 'finalize', [id]);
  r = await lastReentry();
  assert.equal(r.attempts, 3n);
  assert.equal(r.reentered, false);
  assert.equal(r.error, GUARD);
  assert.equal(await x.f.read(review, 'appealOf', [id]), 0n);
  assert.equal(await x.f.read(token, 'balanceOf', [review.address]), 0n);
  const returned = (MED(60) * 4_000n) / 10_000n;
  assert.equal(await x.f.read(token, 'balanceOf', [candidate.address]), returned);
  assert.equal(await x.f.read(token, 'balanceOf', [x.c.council]), MED(60) - returned);
});
