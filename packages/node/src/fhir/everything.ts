/**
 * `Patient/[id]/$everything`: the patient, every resource that references them (their compartment, as far as
 * references show it), and the resources those reference (practitioners, organisations, locations, medications).
 * The Provenance the gateway derives from anchors is left out: ask for it with `Provenance?target=`.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { isDerived } from './vocabulary.ts';

/** References found anywhere in a resource (`reference` strings of Reference elements). */
export function referencesOf(resource: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(resource)) {
    for (const item of resource) referencesOf(item, out);
  } else if (resource !== null && typeof resource === 'object') {
    for (const [key, value] of Object.entries(resource)) {
      if (key === 'reference' && typeof value === 'string') out.add(value);
      else if (typeof value === 'object') referencesOf(value, out);
    }
  }
  return out;
}

/**
 * @example
 * const bundle = everything(patient, repo.all(), (ref) => repo.peek(...ref.split('/')));
 */
export function everything(
  patient: Resource & { id: string },
  all: Iterable<Resource>,
  lookup: (reference: string) => Resource | undefined,
  fullUrl: (r: Resource) => string,
): Bundle {
  const self = `Patient/${patient.id}`;
  const picked = new Map<string, Resource>([[self, patient]]);
  for (const r of all) {
    if (r.resourceType === 'Patient' || isDerived(r)) continue;
    if (referencesOf(r).has(self)) picked.set(`${r.resourceType}/${r.id}`, r);
  }
  const related = new Map<string, Resource>();
  for (const r of picked.values()) {
    for (const ref of referencesOf(r)) {
      if (picked.has(ref) || related.has(ref) || ref.startsWith('Patient/')) continue;
      const target = lookup(ref);
      if (target) related.set(ref, target);
    }
  }
  const entries = [...picked.values(), ...related.values()];
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entries.length,
    entry: entries.map((r) => ({
      fullUrl: fullUrl(r),
      resource: structuredClone(r),
      search: { mode: picked.has(`${r.resourceType}/${r.id}`) ? 'match' : 'include' },
    })),
  };
}
