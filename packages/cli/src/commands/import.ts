/**
 * `medbloc import <file>`: converts what hospitals send — HL7 v2 messages, C-CDA documents, FHIR XML, DICOM Part 10
 * files, VCF genomes — into FHIR R4 on this machine, validates every resource, then seals and anchors them as records (one
 * batch per import). Apple Health exports are streamed in batches instead (import-apple-health.ts). A DICOM file is also stored whole as an encrypted record that its ImagingStudy points to.
 * Unsupported or malformed input is refused with the converter's message (naming the line, segment or tag) and
 * nothing is stored.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { validateFhirResource } from '@medbloc/core';
import type { MedblocClient } from '@medbloc/sdk';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';
import { progressBar } from '../progress.ts';

type Format = 'hl7v2' | 'ccda' | 'fhir-xml' | 'fhir-json' | 'dicom' | 'vcf' | 'apple-health';
type Resource = Record<string, unknown> & { resourceType: string };

export async function detectFormat(file: string): Promise<Format> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(512), 0, 512, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const text = head.toString('latin1').replace(/^\u00ef\u00bb\u00bf/, '');
  const lower = file.toLowerCase();
  if (head.length >= 132 && head.subarray(128, 132).toString('latin1') === 'DICM') return 'dicom';
  if (lower.endsWith('.dcm')) return 'dicom';
  if (
    /\.vcf(\.gz)?$/.test(lower) ||
    text.startsWith('##fileformat=VCF') ||
    (head[0] === 0x1f && head[1] === 0x8b)
  )
    return 'vcf';
  if (/^\s*MSH\|/.test(text) || lower.endsWith('.hl7')) return 'hl7v2';
  // Apple Health: export.xml (its DTD names HealthData first), or Apple's export.zip around it.
  if (/<!DOCTYPE\s+HealthData[\s[>]|<HealthData[\s>]/.test(text)) return 'apple-health';
  if (lower.endsWith('.zip') && text.startsWith('PK\u0003\u0004')) return 'apple-health';
  if (/^\s*</.test(text)) return /<(?:\w+:)?ClinicalDocument[\s>]/.test(text) ? 'ccda' : 'fhir-xml';
  if (/^\s*\{/.test(text)) return 'fhir-json';
  throw new CliError(
    `${file}: unrecognised format (HL7 v2, C-CDA, FHIR XML/JSON, DICOM, VCF and Apple Health exports are supported)`,
    'UNSUPPORTED_FORMAT',
  );
}

function entriesOf(resource: Resource): Resource[] {
  if (resource.resourceType !== 'Bundle') return [resource];
  const entries = (resource.entry as { resource?: Resource }[] | undefined) ?? [];
  return entries.map((e) => e.resource).filter((r): r is Resource => !!r);
}

async function convert(file: string, format: Format, o: ImportOptions, client: () => Promise<MedblocClient>) {
  const interop = await import('@medbloc/interop');
  switch (format) {
    case 'hl7v2': {
      const { bundle, warnings } = interop.convertHl7v2(await readFile(file, 'utf8'));
      for (const w of warnings) process.stderr.write(`medbloc: warning: ${w}\n`);
      return entriesOf(bundle as unknown as Resource);
    }
    case 'ccda':
      return interop.ccdaResources(interop.ccdaToFhir(await readFile(file, 'utf8'))) as unknown as Resource[];
    case 'fhir-xml':
      return entriesOf(interop.fhirXmlToJson(await readFile(file, 'utf8')) as unknown as Resource);
    case 'fhir-json':
      return entriesOf(JSON.parse(await readFile(file, 'utf8')) as Resource);
    case 'vcf': {
      const out: Resource[] = [];
      const patientRef = o.patientRef ?? 'Patient/unknown';
      for await (const r of interop.vcfToFhir(createReadStream(file), { patientRef }))
        out.push(r as unknown as Resource);
      return out;
    }
    case 'dicom': {
      let bytes: Uint8Array = await readFile(file);
      const dataset = interop.parseDicom(bytes);
      if (o.deidentify) bytes = interop.deidentifyDicom(bytes);
      // The image itself is a record of its own; the ImagingStudy points at it.
      const c = await client();
      const image = await c.addRecord({
        content: bytes,
        meta: { name: path.basename(file), contentType: 'application/dicom', size: bytes.byteLength },
        ...(o.owner ? { owner: o.owner } : {}),
      });
      const study = interop.dicomToImagingStudy(o.deidentify ? interop.parseDicom(bytes) : dataset, {
        attachmentUrl: `medbloc:record/${image.recordId}`,
      }) as unknown as Resource;
      return [study];
    }
    case 'apple-health':
      throw new CliError('Apple Health exports are imported as a stream', 'UNSUPPORTED_FORMAT');
  }
}

type ImportOptions = GlobalOptions & {
  owner?: Address;
  deidentify?: boolean;
  patientRef?: string;
  dryRun?: boolean;
};

export async function importFile(
  file: string,
  raw: GlobalOptions & { owner?: string; deidentify?: boolean; patient?: string; dryRun?: boolean },
) {
  if (!(await stat(file).catch(() => undefined))?.isFile())
    throw new CliError(`no such file: ${file}`, 'FILE_NOT_FOUND');
  if (raw.owner && !isAddress(raw.owner))
    throw new CliError(`"${raw.owner}" is not an address`, 'INVALID_ADDRESS');
  const { owner, patient, ...rest } = raw;
  const o: ImportOptions = {
    ...rest,
    ...(owner ? { owner: getAddress(owner) } : {}),
    ...(patient ? { patientRef: patient } : {}),
  };
  const format = await detectFormat(file);
  let client: MedblocClient | undefined;
  const getClient = async () => {
    client ??= await clientFor(o);
    return client;
  };
  if (format === 'apple-health')
    return (await import('./import-apple-health.ts')).importAppleHealth(file, o, getClient);
  let resources: Resource[];
  try {
    resources = await convert(file, format, o, getClient);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as { code?: string; message?: string; outcome?: OperationOutcome };
    throw new CliError(`${file}: ${e.message ?? String(err)}`, e.code ?? 'CONVERSION_FAILED', e.outcome);
  }
  if (resources.length === 0) throw new CliError(`${file}: nothing to import`, 'EMPTY_INPUT');
  for (const [i, r] of resources.entries()) {
    const v = validateFhirResource(r);
    if (!v.ok) {
      const issue = v.outcome.issue?.[0];
      throw new CliError(
        `${file}: converted ${r.resourceType} #${i} is invalid: ${issue?.expression?.[0] ?? ''} ${issue?.diagnostics ?? ''}`.trim(),
        'FHIR_INVALID',
        v.outcome,
      );
    }
  }
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.resourceType, (counts.get(r.resourceType) ?? 0) + 1);
  const summary = [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
  if (o.dryRun)
    return print(
      o,
      { format, resources: resources.length, types: Object.fromEntries(counts) },
      `${format}: ${summary} (dry run, nothing stored)`,
    );
  const c = await getClient();
  const bar = progressBar(`Sealing ${resources.length} resources`, resources.length, 'items');
  const out = await c.addRecords(
    resources.map((resource) => ({ resource })),
    { ...(o.owner ? { owner: o.owner } : {}), onProgress: (d) => bar.update(d) },
  );
  bar.stop();
  print(
    o,
    { format, ...out, types: Object.fromEntries(counts) },
    `Imported ${format}: ${summary} as ${out.recordIds.length} records (tx ${out.txHash})`,
  );
}
