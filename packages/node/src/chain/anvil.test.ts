import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { accountRegistryAbi } from '@medbloc/contracts';
import { createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { killStaleAnvil, startAnvil } from './anvil.ts';
import { deployMedBloc, grantAuthority } from './deploy.ts';

const ADMIN_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const AUTHORITY = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'medbloc-anvil-'));
  dirs.push(d);
  return d;
}

function clients(rpcUrl: string) {
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 50, cacheTime: 0 });
  const walletClient = createWalletClient({ account: privateKeyToAccount(ADMIN_KEY), transport });
  return { publicClient, walletClient };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('picks a free port, answers JSON-RPC with the chain id asked for, and stops', async () => {
  const anvil = await startAnvil({ chainId: 4242 });
  try {
    assert.ok(anvil.port > 0);
    assert.equal(anvil.rpcUrl, `http://127.0.0.1:${anvil.port}`);
    assert.equal(await clients(anvil.rpcUrl).publicClient.getChainId(), 4242);
  } finally {
    await anvil.stop();
  }
  assert.equal(alive(anvil.pid), false);
  await anvil.stop(); // idempotent
});

test('rejects with the reason when anvil exits before it is ready', async () => {
  const first = await startAnvil();
  try {
    await assert.rejects(startAnvil({ port: first.port }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CHAIN_UNAVAILABLE');
      assert.match(err.message, /exited before it was ready/);
      return true;
    });
  } finally {
    await first.stop();
  }
});

test('deployed contracts and their records survive stop() and a restart from the state file', async () => {
  const dir = await tempDir();
  const statePath = path.join(dir, 'chain', 'state.json');
  const pidFile = path.join(dir, 'chain', 'anvil.pid');
  const first = await startAnvil({ statePath, pidFile });
  assert.equal(Number(await readFile(pidFile, 'utf8')), first.pid);
  const c1 = clients(first.rpcUrl);
  const d = await deployMedBloc(c1);
  assert.equal(d.chainId, 31337);
  assert.equal(d.admin, c1.walletClient.account.address);
  // The last transaction lands just before stop(): only the dump on SIGTERM can have saved it.
  await grantAuthority({ ...c1, accountRegistry: d.accountRegistry, authority: AUTHORITY });
  const head = await c1.publicClient.getBlockNumber();
  await first.stop();
  assert.equal(existsSync(pidFile), false, 'stop() removes the pid file');
  assert.ok((await stat(statePath)).size > 0);

  const second = await startAnvil({ statePath });
  try {
    const c2 = clients(second.rpcUrl);
    assert.equal(await c2.publicClient.getBlockNumber(), head);
    const role = await c2.publicClient.readContract({
      address: d.accountRegistry,
      abi: accountRegistryAbi,
      functionName: 'AUTHORITY_ROLE',
    });
    const isAuthority = await c2.publicClient.readContract({
      address: d.accountRegistry,
      abi: accountRegistryAbi,
      functionName: 'hasRole',
      args: [role, AUTHORITY],
    });
    assert.equal(isAuthority, true);
    // Event logs (what the indexer reads) survive too.
    const logs = await c2.publicClient.getLogs({ address: d.accountRegistry, fromBlock: d.deployBlock });
    assert.equal(logs.length, 2); // admin granted at construction, authority granted
    // And the chain goes on from there.
    await grantAuthority({
      ...c2,
      accountRegistry: d.accountRegistry,
      authority: c2.walletClient.account.address,
    });
    assert.equal(await c2.publicClient.getBlockNumber(), head + 1n);
  } finally {
    await second.stop();
  }
});

test('a state file truncated by an interrupted dump is restored from the copy of the last clean stop', async () => {
  const dir = await tempDir();
  const statePath = path.join(dir, 'state.json');
  const first = await startAnvil({ statePath });
  const c1 = clients(first.rpcUrl);
  const d = await deployMedBloc(c1);
  const head = await c1.publicClient.getBlockNumber();
  await first.stop();
  assert.ok(existsSync(`${statePath}.bak`));

  // What a SIGKILL in the middle of anvil's in-place rewrite leaves behind.
  const full = await readFile(statePath);
  await writeFile(statePath, full.subarray(0, Math.floor(full.length / 2)));
  const logs: string[] = [];
  const second = await startAnvil({ statePath, onLog: (l) => logs.push(l) });
  try {
    const c2 = clients(second.rpcUrl);
    assert.equal(await c2.publicClient.getBlockNumber(), head);
    assert.notEqual(await c2.publicClient.getCode({ address: d.recordRegistry }), undefined);
    assert.ok(logs.some((l) => /restoring the copy/.test(l)));
  } finally {
    await second.stop();
  }
});

test('killStaleAnvil ends the anvil left behind by a node process that was SIGKILLed', async () => {
  const dir = await tempDir();
  const statePath = path.join(dir, 'state.json');
  const pidFile = path.join(dir, 'anvil.pid');
  const anvilModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'anvil.ts');
  const script = `
    import { startAnvil } from ${JSON.stringify(anvilModule)};
    const a = await startAnvil({ statePath: ${JSON.stringify(statePath)}, pidFile: ${JSON.stringify(pidFile)} });
    console.log(JSON.stringify({ port: a.port, pid: a.pid }));
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    parent.stdout.once('data', (b: Buffer) => resolve(b.toString()));
    parent.once('exit', (code) => reject(new Error(`the node process exited early (${code})`)));
  });
  const { port, pid } = JSON.parse(line) as { port: number; pid: number };
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('exit', r));

  // The orphan still holds the port and the state file.
  assert.equal(alive(pid), true);
  assert.equal(await clients(`http://127.0.0.1:${port}`).publicClient.getChainId(), 31337);

  assert.equal(await killStaleAnvil(pidFile), true);
  assert.equal(alive(pid), false);
  assert.equal(existsSync(pidFile), false);
  assert.ok(existsSync(statePath), 'SIGTERM made the orphan dump its state');

  // Nothing left to end: no pid file, or a pid file naming a process that is gone.
  assert.equal(await killStaleAnvil(pidFile), false);
  const restarted = await startAnvil({ port, statePath, pidFile });
  try {
    assert.equal(restarted.port, port, 'the port is free again');
  } finally {
    await restarted.stop();
  }
});
