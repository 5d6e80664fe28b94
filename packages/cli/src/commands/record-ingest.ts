/**
 * `medbloc record ingest <path...>`: bulk ingest of FHIR JSON — Bundles (each entry a record), single resources, and
 * NDJSON files (one resource per line, as FHIR Bulk Data exports them); directories are searched for `*.json` and
 * `*.ndjson`. Every resource of every file is parsed and validated first, so a bad one stops the ingest before
 * anything is stored; then their resources are sealed and anchored in batches across file boundaries (several on
 * their way at once), with a progress bar. Files of up to 64 MB in all (`--keep-mb`) are parsed once and kept between
 * the passes; a larger set is read again for sealing, and memory holds one file and the batches in flight.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseFhirJson, validateFhirResource } from '@medbloc/core';
import { IngestError } from '@medbloc/sdk';
import type { OperationOutcome } from '@medplum/fhirtypes';
import {
  CliError,
  clientFor,
  type GlobalOptions,
  partialIngest,
  passphraseAtHand,
  print,
} from '../context.ts';
import { progressBar } from '../progress.ts';
import { addressOf, outcomeText } from './record.ts';

type IngestOptions = GlobalOptions & { owner?: string; batchSize?: string; keepMb?: string };
type Resource = Record<string, unknown> & { resourceType: string };

/** A JSON file larger than this is refused (NDJSON streams line by line, whatever its size). */
const JSON_MAX_BYTES = 64 * 1024 * 1024;

const isNdjson = (file: string) => /\.ndjson$/i.test(file);

/** The files to ingest, in order: each path given, and a directory's JSON and NDJSON files (sorted, recursively). */
async function filesOf(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.(nd)?json$/i.test(e.name)) out.push(p);
    }
  };
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new CliError(`no such file or directory: ${p}`, 'FILE_NOT_FOUND');
    if (info.isDirectory()) {
      const before = out.length;
      await walk(p);
      if (out.length === before) throw new CliError(`${p} holds no .json or .ndjson files`, 'FILE_NOT_FOUND');
    } else out.push(p);
  }
  return out;
}

/**
 * Each resource of `file` with where it came from ("entry 3", "line 12"); throws a CliError naming a bad one.
 * `size`: the file's size if the caller has just read it (else it is read here).
 */
async function* resourcesOf(file: string, size?: number): AsyncGenerator<Resource> {
  const invalid = (where: string, outcome: OperationOutcome, code: string) =>
    new CliError(`${file}: ${where}${outcomeText(outcome)}`, code, outcome);
  const checked = (r: Resource, where: string) => {
    const v = validateFhirResource(r);
    if (!v.ok) throw invalid(`${where} (${String(r.resourceType)}) is invalid: `, v.outcome, 'FHIR_INVALID');
    return r;
  };
  if (isNdjson(file)) {
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      line++;
      if (!text.trim()) continue;
      const parsed = parseFhirJson(text);
      if (!parsed.ok) throw invalid(`line ${line}: `, parsed.outcome, 'INVALID_JSON');
      yield checked(parsed.resource as Resource, `line ${line}`);
    }
    return;
  }
  if ((size ?? (await stat(file)).size) > JSON_MAX_BYTES)
    throw new CliError(
      `${file} is too large for one FHIR JSON document; split it or use NDJSON`,
      'FHIR_TOO_LARGE',
    );
  const parsed = parseFhirJson(await readFile(file, 'utf8'));
  if (!parsed.ok) throw invalid('', parsed.outcome, 'INVALID_JSON');
  const resource = parsed.resource as Resource & { entry?: { resource?: unknown }[] };
  if (resource.resourceType !== 'Bundle') {
    yield checked(resource, 'the resource');
    return;
  }
  for (const [i, e] of (resource.entry ?? []).entries())
    if (e.resource) yield checked(e.resource as Resource, `entry ${i}`);
}

export async function ingest(paths: string[], o: IngestOptions) {
  const owner = o.owner ? addressOf(o.owner) : undefined;
  const batchSize = Number(o.batchSize ?? 1000);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new CliError(`--batch-size must be a whole number from 1 to 10000`, 'INVALID_ARGUMENT');
  const keepMb = Number(o.keepMb ?? 64);
  if (!Number.isFinite(keepMb) || keepMb < 0)
    throw new CliError(`--keep-mb must be a number of megabytes, 0 or more`, 'INVALID_ARGUMENT');
  const files = await filesOf(paths);

  // The keystore unlocks (its scrypt runs off this thread) while the files are checked, unless a person must be
  // asked for the passphrase; a wrong one is still reported only after the check.
  const unlocking = passphraseAtHand(o) ? clientFor(o) : undefined;
  unlocking?.catch(() => {});

  // Pass 1: every resource parsed and validated; nothing is stored if any is bad. Files of up to --keep-mb in all
  // stay parsed for pass 2; a larger set is read again there, one file at a time.
  let total = 0;
  let kept: Resource[] | undefined = [];
  let keptBytes = 0;
  const check = progressBar(`Checking ${files.length} files`, files.length, 'items');
  try {
    for (const [i, file] of files.entries()) {
      const { size } = await stat(file);
      keptBytes += size;
      if (keptBytes > keepMb * 1024 * 1024) kept = undefined;
      for await (const resource of resourcesOf(file, size)) {
        total++;
        kept?.push(resource);
      }
      check.update(i + 1);
    }
  } finally {
    check.stop();
  }
  if (total === 0) throw new CliError('the files hold no FHIR resources', 'FHIR_INVALID');

  // Pass 2: sealed and anchored in batches.
  const client = await (unlocking ?? clientFor(o));
  const bar = progressBar(`Sealing ${total} resources`, total, 'items');
  async function* items() {
    if (kept) for (const resource of kept) yield { resource };
    else for (const file of files) for await (const resource of resourcesOf(file)) yield { resource };
  }
  let out: Awaited<ReturnType<typeof client.ingest>>;
  try {
    out = await client.ingest(items(), {
      ...(owner ? { owner } : {}),
      batchSize,
      onProgress: (n) => bar.update(n),
    });
  } catch (err) {
    if (!(err instanceof IngestError)) throw err;
    throw partialIngest(err, total, 'resources', 'INGEST_PARTIAL');
  } finally {
    bar.stop();
  }
  print(
    o,
    { count: out.recordIds.length, files: files.length, batches: out.batches },
    `Added ${out.recordIds.length} records from ${files.length} files in ${out.batches.length} batches (one transaction each)`,
  );
}
