/**
 * The embedded chain: anvil (Foundry) as a child process on a local port, its state persisted to a file so records
 * survive restarts. anvil loads the file on start, dumps it every second and on SIGTERM, so `stop()` sends SIGTERM
 * and waits for the exit. A pid file lets the next start end an anvil left behind by a node that was SIGKILLed.
 *
 * anvil rewrites the state file in place (open with O_TRUNC, then write), so a SIGKILL or power loss during a dump
 * leaves a truncated file, which anvil then refuses to load. After every clean stop the state is copied to
 * `<statePath>.bak` (write + rename); a start that fails on an unreadable state file restores that copy, reports it
 * through `onLog`, and starts again: the chain loses what happened since the last clean stop instead of being lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { NodeError } from '../errors.ts';

export interface StartAnvilOptions {
  /** 0 or omitted: anvil picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** State file: loaded on start if present, dumped every second and on exit (anvil `--state`). */
  statePath?: string;
  chainId?: number;
  mnemonic?: string;
  /** Written with the anvil pid on start, removed on stop; see killStaleAnvil. */
  pidFile?: string;
  /** Each line anvil prints (stdout and stderr). */
  onLog?: (line: string) => void;
  /** Path of an anvil binary; default: the one shipped by the @foundry-rs/anvil package. */
  binary?: string;
  /** How long to wait for JSON-RPC to answer (ms). Default 60 000 (loading a large state file takes a while). */
  startTimeoutMs?: number;
}

export interface AnvilProcess {
  rpcUrl: string;
  port: number;
  pid: number;
  /** SIGTERM, then waits for the exit, so the state file is complete. Idempotent. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const STOP_TIMEOUT_MS = 15_000;

/**
 * Resolves the native anvil binary from the platform package @foundry-rs/anvil installs, so the child's pid is
 * anvil's own (signals reach it directly); falls back to the package's node wrapper, which forwards signals.
 */
function anvilCommand(binary?: string): { command: string; args: string[] } {
  if (binary) return { command: binary, args: [] };
  const manifest = require.resolve('@foundry-rs/anvil/package.json');
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (arch) {
    try {
      const platformManifest = createRequire(manifest).resolve(
        `@foundry-rs/anvil-${process.platform}-${arch}/package.json`,
      );
      const native = path.join(
        path.dirname(platformManifest),
        'bin',
        process.platform === 'win32' ? 'anvil.exe' : 'anvil',
      );
      if (existsSync(native)) return { command: native, args: [] };
    } catch {
      // no platform package: use the wrapper
    }
  }
  return { command: process.execPath, args: [path.join(path.dirname(manifest), 'bin.mjs')] };
}

/**
 * Starts anvil and resolves once it answers `eth_chainId`; rejects with NodeError CHAIN_UNAVAILABLE (and the last
 * lines anvil printed) if it exits first or does not answer in time.
 * @example
 * const anvil = await startAnvil({ statePath: 'data/chain/state.json' });
 * const client = createPublicClient({ transport: http(anvil.rpcUrl) });
 * await anvil.stop();
 */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilProcess> {
  try {
    return await launch(opts);
  } catch (err) {
    const statePath = opts.statePath;
    if (!statePath || !/failed to parse json file/i.test((err as Error).message)) throw err;
    const backup = `${statePath}.bak`;
    if (!existsSync(backup)) throw err;
    opts.onLog?.(
      `medbloc: ${statePath} is unreadable (interrupted dump); restoring the copy from the last clean stop`,
    );
    await rename(statePath, `${statePath}.corrupt-${Date.now()}`);
    await copyFile(backup, statePath);
    return launch(opts);
  }
}

async function launch(opts: StartAnvilOptions): Promise<AnvilProcess> {
  const host = opts.host ?? '127.0.0.1';
  const { command, args } = anvilCommand(opts.binary);
  args.push('--host', host, '--port', String(opts.port ?? 0));
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  if (opts.mnemonic !== undefined) args.push('--mnemonic', opts.mnemonic);
  if (opts.statePath !== undefined) {
    await mkdir(path.dirname(opts.statePath), { recursive: true });
    args.push('--state', opts.statePath, '--state-interval', '1');
  }

  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const recent: string[] = [];
  let listeningPort: number | undefined;
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    const m = /Listening on .*:(\d+)\s*$/.exec(line);
    if (m && listeningPort === undefined) listeningPort = Number(m[1]);
    opts.onLog?.(line);
  };
  // Always drain both pipes: a full pipe would block anvil.
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);

  // Ends anvil if this process exits without calling stop() (anvil still dumps its state on SIGTERM).
  const onParentExit = () => child.kill('SIGTERM');
  process.once('exit', onParentExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', onParentExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
        if (opts.statePath && child.exitCode === 0) await backUpState(opts.statePath);
      }
      if (opts.pidFile) await removePidFile(opts.pidFile, child.pid);
    })();
    return stopping;
  };

  try {
    const port = await waitUntilReady(
      child,
      exited,
      host,
      () => listeningPort,
      recent,
      opts.startTimeoutMs ?? 60_000,
    );
    if (opts.pidFile) {
      await mkdir(path.dirname(opts.pidFile), { recursive: true });
      await writeFile(opts.pidFile, `${child.pid}\n`);
    }
    return { rpcUrl: `http://${urlHost(host)}:${port}`, port, pid: child.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Copies a state file anvil has just completed to `<statePath>.bak`, atomically. */
async function backUpState(statePath: string): Promise<void> {
  if (!existsSync(statePath)) return;
  const tmp = `${statePath}.bak.tmp`;
  await copyFile(statePath, tmp);
  await rename(tmp, `${statePath}.bak`);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function waitUntilReady(
  child: ChildProcess,
  exited: Promise<void>,
  host: string,
  port: () => number | undefined,
  recent: string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  const failure = exited.then(() => {
    done = true;
    throw new NodeError(
      'CHAIN_UNAVAILABLE',
      `anvil exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}):\n${recent.join('\n')}`,
    );
  });
  const ready = (async () => {
    while (!done) {
      if (Date.now() > deadline) {
        throw new NodeError(
          'CHAIN_UNAVAILABLE',
          `anvil did not answer within ${timeoutMs} ms:\n${recent.join('\n')}`,
        );
      }
      const p = port();
      if (p !== undefined && (await answersChainId(`http://${urlHost(host)}:${p}`))) return p;
      await new Promise((r) => setTimeout(r, 50));
    }
    return 0; // unreachable: `failure` settles first
  })();
  try {
    return await Promise.race([ready, failure]);
  } finally {
    done = true;
    failure.catch(() => {});
  }
}

async function answersChainId(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}

async function removePidFile(pidFile: string, pid: number | undefined): Promise<void> {
  try {
    if (Number((await readFile(pidFile, 'utf8')).trim()) === pid) await rm(pidFile, { force: true });
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is an anvil process (where /proc tells; elsewhere, trust the pid file). */
function looksLikeAnvil(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('anvil');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}

/**
 * Ends an anvil left running by an earlier node process (e.g. one that was SIGKILLed, so its child survived and
 * still holds the port and the state file): reads `pidFile`, and if that process is alive and is anvil, sends
 * SIGTERM (anvil dumps its state) and waits for it to exit. Removes the pid file. Resolves whether or not one ran.
 */
export async function killStaleAnvil(pidFile: string, timeoutMs = STOP_TIMEOUT_MS): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  let killed = false;
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) && looksLikeAnvil(pid)) {
    process.kill(pid, 'SIGTERM');
    killed = true;
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  await rm(pidFile, { force: true });
  return killed;
}
