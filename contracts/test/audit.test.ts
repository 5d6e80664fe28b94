/**
 * AccessLog on a real anvil: nodes anchor Merkle roots of batches of signed access receipts; a patient verifies an
 * entry of their access log against the anchored root.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessLogAbi } from '@medbloc/contracts';
import { buildMerkleTree, verifyMerkleProof } from '@medbloc/core';
import { type Address, type createWalletClient, keccak256, parseEventLogs, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { grantNodeRole } from '../../packages/node/src/chain/deploy-consent.ts';
import { type Fixture, FUNDED_KEY, randomHash, revertsWith, setup } from './fixture.ts';

let f: Fixture;
let log: { address: Address; abi: typeof accessLogAbi };
let walletClient: ReturnType<typeof createWalletClient>;
const otherNode = privateKeyToAccount(FUNDED_KEY);

before(async () => {
  f = await setup();
  walletClient = f.walletClient;
  const c = await f.deployConsent();
  log = { address: c.accessLog, abi: accessLogAbi };
});
after(() => f.stop());

type RootOf = readonly [node: Address, anchoredAt: bigint, count: number];

test('the operator node anchors a root of receipts; a receipt verifies against it', async () => {
  // Receipts are signed off chain; their hashes are the leaves (the node keeps receipts and proofs).
  const receipts = Array.from({ length: 37 }, (_, i) => keccak256(toHex(`receipt ${i}`)));
  const tree = buildMerkleTree(receipts);
  const receipt = await f.send(log, 'anchorReceipts', [tree.root, receipts.length]);
  const [event] = parseEventLogs({ abi: log.abi, logs: receipt.logs, eventName: 'ReceiptsAnchored' });
  assert.deepEqual(event?.args, { node: f.admin.address, root: tree.root, count: 37 });
  const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  const [node, anchoredAt, count] = await f.read<RootOf>(log, 'rootOf', [tree.root]);
  assert.equal(node, f.admin.address);
  assert.equal(anchoredAt, block.timestamp);
  assert.equal(count, 37);
  assert.ok(verifyMerkleProof(receipts[5]!, tree.proof(5), tree.root));
  console.log(`anchoring an access-log root: ${receipt.gasUsed} gas`);
  assert.ok(receipt.gasUsed < 50_000n, 'one slot');
});

test('only NODE_ROLE holders anchor; the admin grants the role to another node', async () => {
  const root = randomHash();
  await assert.rejects(
    f.send(log, 'anchorReceipts', [root, 1], otherNode),
    revertsWith('AccessControlUnauthorizedAccount'),
  );
  await grantNodeRole({
    publicClient: f.publicClient,
    walletClient: walletClient as never,
    accessLog: log.address,
    node: otherNode.address,
  });
  await f.send(log, 'anchorReceipts', [root, 1], otherNode);
  const [node] = await f.read<RootOf>(log, 'rootOf', [root]);
  assert.equal(node, otherNode.address);
});

test('a root is anchored once, and never empty; an unknown root reads as zero', async () => {
  const root = randomHash();
  await f.send(log, 'anchorReceipts', [root, 2]);
  await assert.rejects(f.send(log, 'anchorReceipts', [root, 2]), revertsWith('AccessLogRootExists'));
  await assert.rejects(f.send(log, 'anchorReceipts', [randomHash(), 0]), revertsWith('AccessLogEmptyBatch'));
  const [node, anchoredAt, count] = await f.read<RootOf>(log, 'rootOf', [randomHash()]);
  assert.equal(node, '0x0000000000000000000000000000000000000000');
  assert.equal(anchoredAt, 0n);
  assert.equal(count, 0);
});
