/**
 * `POST [base]/$convert`: the converters as a FHIR operation. The body is an HL7 v2 message, a C-CDA document or a
 * VCF file (by Content-Type); the answer is a transaction Bundle of validated R4 resources (urn:uuid references kept)
 * that the client may post back to `[base]` to store it — nothing is stored by the conversion itself. It runs in the
 * identity's own node process, like the rest of the gateway, so the plaintext never leaves it.
 */
import { randomUUID } from 'node:crypto';
import { validateFhirResource } from '@medbloc/core';
import { ccdaResources, ccdaToFhir, convertHl7v2, vcfToFhir } from '@medbloc/interop';
import type { Bundle, BundleEntry, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

export type ConvertFormat = 'hl7v2' | 'ccda' | 'vcf';

const FORMATS: Record<string, ConvertFormat> = {
  'x-application/hl7-v2+er7': 'hl7v2',
  'application/hl7-v2': 'hl7v2',
  'application/hl7-v2+er7': 'hl7v2',
  'application/edi-hl7': 'hl7v2',
  'application/cda+xml': 'ccda',
  'text/vcf': 'vcf',
  'text/x-vcf': 'vcf',
};

/** The converter a Content-Type names (plain XML counts as C-CDA when its root is ClinicalDocument). */
export function convertFormatOf(contentType: string, body: string): ConvertFormat | undefined {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (FORMATS[type]) return FORMATS[type];
  if ((type === 'application/xml' || type === 'text/xml') && /<(?:\w+:)?ClinicalDocument[\s>]/.test(body))
    return 'ccda';
  return undefined;
}

export const CONVERT_CONTENT_TYPES = Object.keys(FORMATS);

export type ConvertResult =
  | { ok: true; bundle: Bundle; warnings: string[] }
  | { ok: false; status: number; issues: OperationOutcomeIssue[] };

/** Converts `body` and validates every resource; a converter's refusal names the line, segment or tag. */
export async function convertToTransaction(
  format: ConvertFormat,
  body: string,
  o: { patient?: string } = {},
): Promise<ConvertResult> {
  let entries: BundleEntry[];
  const warnings: string[] = [];
  try {
    if (format === 'hl7v2') {
      const out = convertHl7v2(body);
      warnings.push(...out.warnings);
      entries = (out.bundle.entry ?? []) as BundleEntry[];
    } else if (format === 'ccda') {
      entries = ccdaResources(ccdaToFhir(body) as never).map((resource) => ({
        fullUrl: `urn:uuid:${(resource as Resource).id ?? randomUUID()}`,
        resource: resource as Resource,
      }));
    } else {
      entries = [];
      for await (const r of vcfToFhir(body, { patientRef: o.patient ?? 'Patient/unknown' }))
        entries.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: r as unknown as Resource });
    }
  } catch (err) {
    return {
      ok: false,
      status: 400,
      issues: [{ severity: 'error', code: 'structure', diagnostics: `${format}: ${(err as Error).message}` }],
    };
  }
  const issues: OperationOutcomeIssue[] = [];
  const out: BundleEntry[] = [];
  for (const [i, e] of entries.entries()) {
    if (!e.resource) continue;
    const v = validateFhirResource(e.resource);
    if (!v.ok)
      for (const issue of v.outcome.issue ?? [])
        issues.push({
          ...issue,
          expression: (issue.expression ?? []).map((x) => `Bundle.entry[${i}].resource.${x}`),
        });
    out.push({
      fullUrl: e.fullUrl ?? `urn:uuid:${randomUUID()}`,
      resource: e.resource,
      request: { method: 'POST', url: e.resource.resourceType },
    });
  }
  if (issues.length) return { ok: false, status: 422, issues };
  if (out.length === 0)
    return {
      ok: false,
      status: 422,
      issues: [{ severity: 'error', code: 'not-found', diagnostics: `${format}: nothing to convert` }],
    };
  return { ok: true, bundle: { resourceType: 'Bundle', type: 'transaction', entry: out }, warnings };
}
