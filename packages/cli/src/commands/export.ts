/**
 * `medbloc export --format ccda`: a C-CDA Continuity of Care Document of your own FHIR records, built on this
 * machine. Records are read and verified through the SDK (anchor, signature, key commitment, AEAD), only the latest
 * version of each resource is kept (deleted ones are left out), and the document goes to `--out` or stdout.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RecordSummary } from '@medbloc/sdk';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

type Resource = Record<string, unknown> & {
  resourceType: string;
  id?: string;
  meta?: { tag?: { code?: string }[] };
};

export async function exportRecords(
  o: GlobalOptions & { format?: string; out?: string; patient?: string; title?: string },
) {
  const format = o.format ?? 'ccda';
  if (format !== 'ccda')
    throw new CliError(`unsupported export format "${format}" (ccda)`, 'UNSUPPORTED_FORMAT');
  const client = await clientFor(o);
  const listed = (await client.listRecords()).filter((r) => r.meta?.kind === 'fhir' && !r.supersededBy);
  const latest = new Map<string, { summary: RecordSummary; resource: Resource }>();
  for (const summary of listed) {
    const resource = (await client.getRecord(summary.recordId)).resource as Resource | undefined;
    if (!resource?.resourceType) continue;
    const key = `${resource.resourceType}/${resource.id ?? summary.recordId}`;
    const seen = latest.get(key);
    if (!seen || seen.summary.blockNumber <= summary.blockNumber) latest.set(key, { summary, resource });
  }
  let resources = [...latest.values()]
    .map((v) => v.resource)
    .filter((r) => !r.meta?.tag?.some((t) => t.code === 'deleted'));
  const patients = resources.filter((r) => r.resourceType === 'Patient');
  if (o.patient) {
    const wanted = o.patient.replace(/^Patient\//, '');
    if (!patients.some((p) => p.id === wanted))
      throw new CliError(`no Patient/${wanted} among your records`, 'NOT_FOUND');
    // The other patients' resources stay out of this patient's document.
    const others = new Set(patients.filter((p) => p.id !== wanted).map((p) => `Patient/${p.id}`));
    resources = resources.filter(
      (r) => !others.has(`${r.resourceType}/${r.id}`) && !refersTo(r, others, wanted),
    );
  } else if (patients.length !== 1)
    throw new CliError(
      patients.length === 0
        ? 'none of your records is a FHIR Patient; a C-CDA document needs one'
        : `your records hold ${patients.length} patients; choose one with --patient <id>`,
      'NOT_FOUND',
    );
  const { fhirToCcda } = await import('@medbloc/interop');
  const xml = fhirToCcda(resources as unknown as Parameters<typeof fhirToCcda>[0], {
    ...(o.title ? { title: o.title } : {}),
  });
  if (o.out) {
    await writeFile(path.resolve(o.out), xml);
    print(
      o,
      { format, out: path.resolve(o.out), resources: resources.length },
      `Wrote a C-CDA document of ${resources.length} resources to ${o.out}`,
    );
  } else process.stdout.write(xml.endsWith('\n') ? xml : `${xml}\n`);
}

/** True when `r` points at one of `others` through its subject or patient (and not at the chosen patient). */
function refersTo(r: Resource, others: Set<string>, wanted: string): boolean {
  const ref = (x: unknown) => (x as { reference?: string } | undefined)?.reference;
  const target = ref(r.subject) ?? ref(r.patient) ?? ref(r.beneficiary);
  return !!target && target !== `Patient/${wanted}` && others.has(target);
}
