/**
 * Integration-test harness: real nodes (embedded anvil, disk blobs, SQLite) in temporary data directories, run
 * in-process or as a separate `medbloc node start` process, and a runner for the `medbloc` CLI as a user runs it.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMnemonic, identityFromMnemonic } from '@medbloc/core';
import { loadConfig, type RunningNode, startNode } from '@medbloc/node';
import { createClient } from '@medbloc/sdk';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.resolve(ROOT, '../shared/fixtures');
export const BIN = path.join(ROOT, 'packages/cli/bin/medbloc.js');

export async function tempDir(prefix = 'medbloc-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Starts an in-process node on free ports in a fresh (or given) data directory. */
export async function startTestNode(env: Record<string, string> = {}, home?: string) {
  const dir = home ?? (await tempDir());
  const node: RunningNode = await startNode(
    loadConfig({
      MEDBLOC_HOME: dir,
      MEDBLOC_PORT: '0',
      MEDBLOC_CHAIN_PORT: '0',
      MEDBLOC_POLL_MS: '200',
      ...env,
    }),
  );
  return {
    node,
    home: dir,
    async stop({ keep = false } = {}) {
      await node.stop();
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

export function newIdentity() {
  return identityFromMnemonic(generateMnemonic());
}

/** An authority, a certified provider and a patient, registered on `url`. */
export async function cast(node: RunningNode) {
  const ids = { authority: newIdentity(), provider: newIdentity(), patient: newIdentity() };
  const authority = createClient({ node: node.url, identity: ids.authority });
  const provider = createClient({ node: node.url, identity: ids.provider });
  const patient = createClient({ node: node.url, identity: ids.patient });
  await node.addAuthority(authority.address);
  await authority.register({ roles: ['patient'] });
  await provider.register({ roles: ['provider'] });
  await patient.register({ roles: ['patient'] });
  await authority.certify(provider.address, { role: 'provider' });
  return { ids, authority, provider, patient };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the CLI process, bytes (sampled from /proc). */
  peakRss: number;
}

/** Runs `medbloc <args>` as a separate process, with the project's Node, as a user would. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // Run the bin itself, as `npx medbloc` does: its shebang picks the runtime flags.
    const child = spawn(BIN, args, {
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, CI: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, hwm(child.pid));
    }, 50);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      resolve({ code: code ?? -1, stdout, stderr, peakRss });
    });
  });
}

function hwm(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Starts `medbloc node start` as its own process; resolves once it serves /health. */
export async function spawnNode(
  home: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'node', 'start'], {
    env: { ...process.env, MEDBLOC_HOME: home, MEDBLOC_PORT: '0', MEDBLOC_CHAIN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /API\s+(http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on('exit', (code) => reject(new Error(`node exited with ${code}: ${out}`)));
  });
}

/**
 * A CLI user: `env()` (read at each call, so it may name a node started later) plus per-call extras.
 * `ok` asserts exit 0; `json` parses `--json` output; `fails` asserts a non-zero exit with exactly one line on stderr,
 * `medbloc: error: <message> (<CODE>)`.
 */
export function cliUser(env: () => Record<string, string>) {
  const run = (args: string[], extra: Record<string, string> = {}) => cli(args, { ...env(), ...extra });
  const ok = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await run(args, extra);
    assert.equal(r.code, 0, `medbloc ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };
  const json = async <T>(args: string[], extra: Record<string, string> = {}) =>
    JSON.parse((await ok(['--json', ...args], extra)).stdout) as T;
  const fails = async (args: string[], code: string, extra: Record<string, string> = {}) => {
    const r = await run(args, extra);
    assert.notEqual(r.code, 0, `medbloc ${args.join(' ')} should fail`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line of error, got: ${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`^medbloc: error: .*\\(${code}\\)$`));
    return r;
  };
  return { run, ok, json, fails };
}

/** Every file below `dir`. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** The bytes of each file (up to 64 MiB) as latin1 text, to search for leaks. */
export async function fileHaystacks(files: string[]): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const f of files) {
    if ((await stat(f)).size > 64 * 1024 * 1024) continue;
    out.push([f, (await readFile(f)).toString('latin1')]);
  }
  return out;
}

/** Every block (with its transactions' calldata) and every log of a chain, as text. */
export async function chainText(rpcUrl: string): Promise<string> {
  const rpc = async (method: string, params: unknown[]) =>
    (
      (await (
        await fetch(rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        })
      ).json()) as { result: unknown }
    ).result;
  const head = Number(await rpc('eth_blockNumber', []));
  let text = '';
  for (let b = 0; b <= head; b++)
    text += JSON.stringify(await rpc('eth_getBlockByNumber', [`0x${b.toString(16)}`, true]));
  return text + JSON.stringify(await rpc('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
}

/** Asserts no needle appears in any haystack, as text or as hex. */
export function assertAbsent(needles: string[], haystacks: [string, string][]) {
  for (const needle of needles) {
    const hexNeedle = Buffer.from(needle).toString('hex');
    for (const [where, text] of haystacks) {
      assert.ok(!text.includes(needle), `"${needle.slice(0, 12)}…" found in ${where}`);
      assert.ok(
        !text.toLowerCase().includes(hexNeedle),
        `hex of "${needle.slice(0, 12)}…" found in ${where}`,
      );
    }
  }
}
