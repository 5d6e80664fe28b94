/**
 * `medbloc record add|list|get|verify`. FHIR JSON is validated before anything is sealed; a FHIR Bundle is split
 * into one record per entry and anchored in one batch; any other file is streamed (constant memory) with a progress
 * bar. Output files are written to a temporary name and renamed only after every verification passed.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseFhirJson, validateFhirResource } from '@medbloc/core';
import type { RecordMeta } from '@medbloc/sdk';
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';
import { progressBar } from '../progress.ts';

type AddOptions = GlobalOptions & { owner?: string; supersedes?: string; whole?: boolean; raw?: boolean };

/** Files up to this size that look like JSON are parsed as FHIR; larger ones are always streamed as files. */
const FHIR_MAX_BYTES = 64 * 1024 * 1024;

export function outcomeText(outcome: {
  issue?: { severity?: string; diagnostics?: string; expression?: string[] }[];
}): string {
  return (outcome.issue ?? [])
    .map((i) => `${i.expression?.[0] ? `${i.expression[0]}: ` : ''}${i.diagnostics ?? i.severity}`)
    .join('; ');
}

async function looksLikeJson(file: string, size: number): Promise<boolean> {
  if (file.toLowerCase().endsWith('.json')) return true;
  if (size === 0 || size > FHIR_MAX_BYTES) return false;
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(64), 0, 64, 0);
    return /^\s*\{/.test(
      buffer
        .subarray(0, bytesRead)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    );
  } finally {
    await fh.close();
  }
}

export async function add(file: string, o: AddOptions) {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(`no such file: ${file}`, 'FILE_NOT_FOUND');
  const owner = o.owner ? addressOf(o.owner) : undefined;
  const supersedes = o.supersedes ? recordIdOf(o.supersedes) : undefined;

  if (!o.raw && (await looksLikeJson(file, info.size))) {
    if (info.size > FHIR_MAX_BYTES)
      throw new CliError(
        `${file} is too large for a FHIR resource; use --raw to store it as a file`,
        'FHIR_TOO_LARGE',
      );
    const parsed = parseFhirJson(await readFile(file, 'utf8'));
    if (!parsed.ok)
      throw new CliError(`${file}: ${outcomeText(parsed.outcome)}`, 'INVALID_JSON', parsed.outcome);
    const resource = parsed.resource as Record<string, unknown> & {
      resourceType: string;
      entry?: { resource?: unknown }[];
    };
    if (resource.resourceType === 'Bundle' && !o.whole) return addBundle(file, resource, o, owner);
    const v = validateFhirResource(resource);
    if (!v.ok)
      throw new CliError(
        `${file} is not a valid FHIR R4 resource: ${outcomeText(v.outcome)}`,
        'FHIR_INVALID',
        v.outcome,
      );
    const client = await clientFor(o);
    const rec = await client.addRecord({
      resource,
      ...(owner ? { owner } : {}),
      ...(supersedes ? { supersedes } : {}),
    });
    return print(
      o,
      rec,
      `Added ${resource.resourceType} as record ${rec.recordId}\n  owner ${rec.owner}, cid ${rec.cid}, block ${rec.blockNumber}`,
    );
  }

  const client = await clientFor(o);
  const bar = progressBar(`Sealing ${path.basename(file)}`, info.size, 'bytes');
  try {
    const rec = await client.addRecord({
      content: createReadStream(file, { highWaterMark: 256 * 1024 }),
      meta: { name: path.basename(file), size: info.size },
      onProgress: (n) => bar.update(n),
      ...(owner ? { owner } : {}),
      ...(supersedes ? { supersedes } : {}),
    });
    bar.stop();
    print(
      o,
      rec,
      `Added ${path.basename(file)} (${info.size} bytes) as record ${rec.recordId}\n  owner ${rec.owner}, cid ${rec.cid}`,
    );
  } finally {
    bar.stop();
  }
}

async function addBundle(
  file: string,
  bundle: { entry?: { resource?: unknown }[] },
  o: AddOptions,
  owner?: Address,
) {
  const resources = (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Record<string, unknown> => !!r);
  if (resources.length === 0)
    throw new CliError(`${file}: the Bundle has no entries with a resource`, 'FHIR_INVALID');
  for (const [i, r] of resources.entries()) {
    const v = validateFhirResource(r);
    if (!v.ok)
      throw new CliError(
        `${file}: entry ${i} (${String(r.resourceType)}) is invalid: ${outcomeText(v.outcome)}`,
        'FHIR_INVALID',
      );
  }
  const client = await clientFor(o);
  const bar = progressBar(`Sealing ${resources.length} resources`, resources.length, 'items');
  const out = await client.addRecords(
    resources.map((resource) => ({ resource })),
    { ...(owner ? { owner } : {}), onProgress: (d) => bar.update(d) },
  );
  bar.stop();
  print(
    o,
    out,
    `Added ${out.recordIds.length} records from ${path.basename(file)} in one batch (root ${out.root}, tx ${out.txHash})`,
  );
}

export async function list(o: GlobalOptions & { owner?: string }) {
  const client = await clientFor(o);
  const records = await client.listRecords(o.owner ? { owner: addressOf(o.owner) } : {});
  print(o, records, () => {
    if (records.length === 0) return 'No records.';
    const lines = records.map((r) => {
      const what = describe(r.meta);
      const when = new Date(r.anchoredAt * 1000).toISOString().replace('T', ' ').slice(0, 19);
      const by = r.creator === r.owner ? 'self' : r.creator;
      return `${r.recordId}  ${when}  ${what.padEnd(28)}  by ${by}${r.supersededBy ? '  (superseded)' : ''}`;
    });
    return [...lines, `${records.length} record(s)`].join('\n');
  });
}

function describe(meta: RecordMeta | undefined): string {
  if (!meta) return '(no key)';
  if (meta.kind === 'fhir')
    return `${meta.resourceType}${meta.resourceId ? `/${meta.resourceId.slice(0, 12)}` : ''}`;
  return `${meta.name ?? 'file'} (${meta.size ?? '?'} B)`;
}

export async function get(id: string, o: GlobalOptions & { output?: string; purpose?: string }) {
  const recordId = recordIdOf(id);
  if (o.purpose && o.purpose !== 'care' && o.purpose !== 'research')
    throw new CliError('--purpose must be care or research', 'INVALID_PURPOSE');
  const client = await clientFor(o);
  const r = await client.openRecord(recordId, { purpose: (o.purpose as 'care' | 'research') ?? 'care' });
  if (o.output) {
    const target = path.resolve(o.output);
    const partial = `${target}.partial-${process.pid}`;
    const bar = progressBar(`Reading ${recordId.slice(0, 10)}`, r.meta?.size, 'bytes');
    let done = 0;
    async function* counted() {
      for await (const chunk of r.stream) {
        done += chunk.byteLength;
        bar.update(done);
        yield chunk;
      }
    }
    try {
      await pipeline(counted(), createWriteStream(partial));
      await rename(partial, target);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    } finally {
      bar.stop();
    }
    return print(
      o,
      { recordId, output: target, bytes: done, verification: r.verification },
      `Wrote ${done} bytes to ${target} (verified: ${r.verification.checks.join(', ')})`,
    );
  }
  const parts: Buffer[] = [];
  for await (const chunk of r.stream) parts.push(Buffer.from(chunk));
  const bytes = Buffer.concat(parts);
  if (r.meta?.kind === 'fhir') {
    const resource = JSON.parse(bytes.toString('utf8'));
    return print(
      o,
      { record: r.record, meta: r.meta, verification: r.verification, resource },
      JSON.stringify(resource, null, 2),
    );
  }
  if (process.stdout.isTTY)
    throw new CliError('this record is a file; write it with -o <file>', 'USE_OUTPUT');
  process.stdout.write(bytes);
}

export async function verify(id: string, o: GlobalOptions) {
  const recordId = recordIdOf(id);
  const client = await clientFor(o);
  const v = await client.verifyRecord(recordId);
  print(o, { ok: true, ...v }, () =>
    [
      `Record ${v.recordId} verifies.`,
      `  owner ${v.owner}, creator ${v.creator}, anchored ${new Date(v.anchoredAt * 1000).toISOString()}${v.batched ? ' (batch)' : ''}`,
      `  checks: ${v.checks.join(', ')}`,
    ].join('\n'),
  );
}

export function addressOf(a: string): Address {
  if (!isAddress(a)) throw new CliError(`"${a}" is not an address`, 'INVALID_ADDRESS');
  return getAddress(a);
}

function recordIdOf(id: string): Hex {
  if (!isHex(id) || id.length !== 66)
    throw new CliError(`"${id}" is not a record id (0x + 64 hex digits)`, 'INVALID_RECORD_ID');
  return id.toLowerCase() as Hex;
}
