/**
 * `medbloc import export.xml|export.zip` for Apple Health exports, which run to gigabytes. The export is read twice
 * as a stream, in constant memory: the first pass converts and validates every Observation and stores nothing (so
 * malformed XML or an invalid resource leaves no trace); the second converts again and seals and anchors the
 * Observations in batches of 500 (one chain transaction each). A failure during the second pass (the node or the
 * chain going away) is reported with how many records were already stored. A zip is read entry by entry without
 * unpacking it to disk.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { validateFhirResource } from '@medbloc/core';
import type { AppleHealthOptions, AppleHealthSummary } from '@medbloc/interop';
import type { MedblocClient } from '@medbloc/sdk';
import StreamZip from 'node-stream-zip';
import type { Address } from 'viem';
import { CliError, type GlobalOptions, partialIngest, print } from '../context.ts';
import { progressBar } from '../progress.ts';

/** Observations per batch of the bulk ingest: one Merkle root and one transaction each. */
export const APPLE_HEALTH_BATCH = 500;

export type AppleHealthImportOptions = GlobalOptions & {
  owner?: Address;
  patientRef?: string;
  dryRun?: boolean;
};

interface Source {
  size: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
  close(): Promise<void>;
}

/** The export.xml itself, or the one inside Apple's export.zip (`apple_health_export/export.xml`). */
async function openSource(file: string): Promise<Source> {
  if (!file.toLowerCase().endsWith('.zip')) {
    const { size } = await stat(file);
    return { size, open: async () => createReadStream(file), close: async () => {} };
  }
  const zip = new StreamZip.async({ file });
  try {
    const entry = Object.values(await zip.entries()).find(
      (e) => e.isFile && path.posix.basename(e.name) === 'export.xml',
    );
    if (!entry)
      throw new CliError(
        `${file}: no export.xml in this zip (an Apple Health export.zip holds apple_health_export/export.xml)`,
        'UNSUPPORTED_FORMAT',
      );
    return {
      size: entry.size,
      open: async () => (await zip.stream(entry)) as unknown as AsyncIterable<Uint8Array>,
      close: () => zip.close(),
    };
  } catch (err) {
    await zip.close().catch(() => {});
    if (err instanceof CliError) throw err;
    throw new CliError(`${file}: not a readable zip: ${(err as Error).message}`, 'UNSUPPORTED_FORMAT');
  }
}

async function* counting(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void) {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.byteLength;
    onBytes(n);
    yield chunk;
  }
}

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
const short = (type: string) => type.replace(/^HK(?:Quantity|Category|Correlation)TypeIdentifier/, '');

function report(summary: AppleHealthSummary): string {
  const lines = Object.entries(summary.imported).map(
    ([t, s]) => `  ${short(t)}: ${plural(s.records, 'sample')} → ${plural(s.observations, 'observation')}`,
  );
  const skipped = Object.entries(summary.skipped).map(([t, s]) => `  ${short(t)}: ${s.count} (${s.reason})`);
  return [...lines, ...(skipped.length ? ['Skipped:', ...skipped] : [])].join('\n');
}

export async function importAppleHealth(
  file: string,
  o: AppleHealthImportOptions,
  client: () => Promise<MedblocClient>,
) {
  const interop = await import('@medbloc/interop');
  const options: AppleHealthOptions = { patientRef: o.patientRef ?? 'Patient/unknown' };
  const source = await openSource(file);
  try {
    // Pass 1: convert and validate everything; nothing leaves this machine.
    const check = progressBar('Reading Apple Health export', source.size, 'bytes');
    let summary: AppleHealthSummary;
    let total = 0;
    try {
      const it = interop.appleHealthToFhir(
        counting(await source.open(), (n) => check.update(n)),
        options,
      );
      for (;;) {
        const next = await it.next();
        if (next.done) {
          summary = next.value;
          break;
        }
        const v = validateFhirResource(next.value);
        if (!v.ok) {
          const issue = v.outcome.issue?.[0];
          throw new CliError(
            `${file}: converted Observation #${total} (${next.value.code?.text}) is invalid: ${issue?.expression?.[0] ?? ''} ${issue?.diagnostics ?? ''}`.trim(),
            'FHIR_INVALID',
          );
        }
        total++;
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      const e = err as { code?: string; message?: string };
      throw new CliError(`${file}: ${e.message ?? String(err)}`, e.code ?? 'CONVERSION_FAILED');
    } finally {
      check.stop();
    }
    const skipped = Object.fromEntries(Object.entries(summary.skipped).map(([t, s]) => [t, s.count]));
    if (total === 0)
      throw new CliError(
        `${file}: nothing to import (${summary.records} records, none of a type MedBloc maps to FHIR)`,
        'EMPTY_INPUT',
      );
    const json = {
      format: 'apple-health',
      observations: total,
      types: { Observation: total },
      healthKit: summary.imported,
      skipped,
      skippedReasons: Object.fromEntries(Object.entries(summary.skipped).map(([t, s]) => [t, s.reason])),
    };
    if (o.dryRun)
      return print(
        o,
        json,
        `apple-health: ${plural(total, 'Observation')} (dry run, nothing stored)\n${report(summary)}`,
      );

    // Pass 2: the same conversion, sealed and anchored in batches.
    const c = await client();
    const seal = progressBar(`Sealing ${total} observations`, total, 'items');
    async function* observations() {
      for await (const observation of interop.appleHealthToFhir(await source.open(), options))
        yield { resource: observation as unknown as Record<string, unknown> };
    }
    let recordIds: string[];
    let txHashes: string[];
    try {
      const out = await c.ingest(observations(), {
        ...(o.owner ? { owner: o.owner } : {}),
        batchSize: APPLE_HEALTH_BATCH,
        onProgress: (n) => seal.update(n),
      });
      recordIds = out.recordIds;
      txHashes = out.batches.map((b) => b.txHash);
    } catch (err) {
      throw partialIngest(err, total, 'observations', 'IMPORT_PARTIAL', `${file}: `);
    } finally {
      seal.stop();
    }
    print(
      o,
      { ...json, recordIds, txHashes },
      `Imported Apple Health export: ${plural(total, 'Observation')} as ${plural(recordIds.length, 'record')} in ${plural(txHashes.length, 'batch', 'batches')}\n${report(summary)}`,
    );
  } finally {
    await source.close();
  }
}
