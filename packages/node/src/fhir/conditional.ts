/**
 * Conditional references (`"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999"`, FHIR R4
 * §3.1.0.11.3): each is resolved by a search against the store before the request runs and replaced by the
 * literal reference of its single match. No match or several matches fail the request, as the specification asks.
 * Medplum's router leaves these to its server's repository, so the gateway does it here.
 */
import { badRequest, OperationOutcomeError, parseSearchRequest } from '@medplum/core';
import type { FhirRepository } from '@medplum/fhir-router';

const CONDITIONAL = /^([A-Z][A-Za-z]+)\?(.+)$/;

/**
 * Rewrites every conditional reference inside `body` (a resource or a Bundle) in place.
 *
 * @example
 * await resolveConditionalReferences(bundle, repo); // throws OperationOutcomeError (400/412) when one cannot resolve
 */
export async function resolveConditionalReferences(body: unknown, repo: FhirRepository): Promise<number> {
  const found: { holder: { reference: string }; query: string }[] = [];
  collect(body, found);
  const cache = new Map<string, string>();
  for (const { holder, query } of found) {
    let literal = cache.get(query);
    if (!literal) {
      const request = parseSearchRequest(query);
      request.count = 2;
      const matches = (await repo.search(request)).entry ?? [];
      if (matches.length !== 1) {
        const what = matches.length === 0 ? 'matches nothing' : 'matches more than one resource';
        throw new OperationOutcomeError(badRequest(`conditional reference "${query}" ${what}`));
      }
      const r = matches[0]?.resource;
      literal = `${r?.resourceType}/${r?.id}`;
      cache.set(query, literal);
    }
    holder.reference = literal;
  }
  return found.length;
}

function collect(value: unknown, out: { holder: { reference: string }; query: string }[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const o = value as Record<string, unknown>;
  if (typeof o.reference === 'string' && CONDITIONAL.test(o.reference))
    out.push({ holder: o as { reference: string }, query: o.reference });
  for (const [k, v] of Object.entries(o)) {
    if (k === 'request' || k === 'response') continue; // Bundle.entry.request.url is not a reference
    if (typeof v === 'object') collect(v, out);
  }
}
