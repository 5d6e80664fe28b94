/**
 * What every CLI command shares: where the keystore is, how to get the passphrase without prompting scripts, which
 * node to talk to, and how to print for people (`text`) or machines (`--json`).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decryptKeystore, type Identity, identityFromMnemonic } from '@medbloc/core';
import { createClient, IngestError, type MedblocClient } from '@medbloc/sdk';
import type { OperationOutcome } from '@medplum/fhirtypes';

export interface GlobalOptions {
  node?: string;
  id?: string;
  keystore?: string;
  passphraseFile?: string;
  json?: boolean;
}

export class CliError extends Error {
  readonly code: string;
  /** Why, as FHIR tells it (an invalid resource's issues); part of the `--json` error. */
  readonly outcome: OperationOutcome | undefined;
  constructor(message: string, code = 'CLI_ERROR', outcome?: OperationOutcome) {
    super(message);
    this.code = code;
    this.outcome = outcome;
  }
}

/**
 * A bulk ingest that stopped part-way, as one line: how many of `total` `things` were stored in how many batches, and
 * why it stopped.
 */
export function partialIngest(
  err: unknown,
  total: number,
  things: string,
  code: string,
  prefix = '',
): CliError {
  const stored = err instanceof IngestError ? err.stored : [];
  const cause = (err instanceof IngestError ? err.cause : err) as { message?: string } | undefined;
  const n = stored.reduce((sum, b) => sum + b.recordIds.length, 0);
  return new CliError(
    `${prefix}stopped after storing ${n} of ${total} ${things} in ${stored.length} batches: ${cause?.message ?? String(cause)}`,
    code,
  );
}

export function keystorePath(o: GlobalOptions): string {
  if (o.keystore) return path.resolve(o.keystore);
  if (process.env.MEDBLOC_KEYSTORE) return path.resolve(process.env.MEDBLOC_KEYSTORE);
  const dir = process.env.MEDBLOC_KEYS_DIR ?? path.join(os.homedir(), '.medbloc', 'keys');
  return path.join(dir, `${o.id ?? 'default'}.json`);
}

export function nodeUrl(o: GlobalOptions): string {
  return o.node ?? process.env.MEDBLOC_NODE ?? 'http://127.0.0.1:7400';
}

/** Whether {@link passphrase} has one without asking anyone. */
export function passphraseAtHand(o: GlobalOptions): boolean {
  return Boolean(o.passphraseFile || process.env.MEDBLOC_PASSPHRASE);
}

/** The passphrase from --passphrase-file or MEDBLOC_PASSPHRASE; prompting only when a person is at a terminal. */
export async function passphrase(o: GlobalOptions, purpose: string): Promise<string> {
  if (o.passphraseFile) return (await readFile(o.passphraseFile, 'utf8')).replace(/\r?\n$/, '');
  if (process.env.MEDBLOC_PASSPHRASE) return process.env.MEDBLOC_PASSPHRASE;
  if (!process.stdin.isTTY) {
    throw new CliError(
      `no passphrase to ${purpose}: set MEDBLOC_PASSPHRASE or pass --passphrase-file`,
      'NO_PASSPHRASE',
    );
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput?: (s: string) => void };
  process.stderr.write(`Passphrase to ${purpose}: `);
  out._writeToOutput = () => {};
  const answer = await rl.question('');
  rl.close();
  process.stderr.write('\n');
  return answer;
}

export async function loadIdentity(o: GlobalOptions): Promise<Identity> {
  const file = keystorePath(o);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(
        `no identity at ${file}; create one with "medbloc init"${o.id ? ` --id ${o.id}` : ''}`,
        'NO_IDENTITY',
      );
    }
    throw new CliError(`cannot read keystore ${file}: ${(err as Error).message}`, 'INVALID_KEYSTORE');
  }
  const mnemonic = await decryptKeystore(json as never, await passphrase(o, 'unlock your keystore'));
  return identityFromMnemonic(mnemonic);
}

export async function clientFor(o: GlobalOptions): Promise<MedblocClient> {
  return createClient({ node: nodeUrl(o), identity: await loadIdentity(o) });
}

export function print(o: GlobalOptions, json: unknown, text: string | (() => string)) {
  if (o.json)
    process.stdout.write(
      `${JSON.stringify(json, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
    );
  else process.stdout.write(`${typeof text === 'function' ? text() : text}\n`);
}
