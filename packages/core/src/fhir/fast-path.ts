/**
 * The fast path of FHIR validation: proves a resource valid under Medplum's R4 validator, or steps aside.
 *
 * Medplum's validator (`typeschema/validation.ts`) crawls every element of every schema whether the resource has it
 * or not, and resolves each absent choice-of-type element by trying each of its types (an Extension's `value[x]` has
 * fifty): about 100 µs per Synthea resource, most of it spent looking up properties that are not there. This walks
 * only the properties present and applies to them the checks Medplum applies: the JSON type, format and range of
 * every primitive, array or single value, cardinality, required elements, and every error-level invariant through
 * Medplum's own FHIRPath engine with the same variables (`%context`, `%resource`, `%rootResource`, `%ucum`).
 *
 * It answers `true` only when all of that passed on a resource shaped the ordinary way. Anything else — a null, an
 * empty value, a primitive extension (`_birthDate`), an unknown or duplicated choice property, a slice, a fixed or
 * pattern value, an invariant that fails or throws — answers `false`, and the caller asks Medplum's validator for the
 * verdict and its issues. So the verdict is always Medplum's; only a valid resource gets it sooner. The differential
 * tests hold it to that on every fixture and on systematic mutations of them.
 */
import {
  AndAtom,
  type Atom,
  type Constraint,
  capitalize,
  DotAtom,
  evalFhirPathTyped,
  type FhirPathAtom,
  FunctionAtom,
  fhirTypeToJsType,
  type InternalSchemaElement,
  type InternalTypeSchema,
  isValidCalendarDate,
  OrAtom,
  parseFhirPath,
  SymbolAtom,
  type TypedValue,
  toTypedValue,
  tryGetDataType,
  validationRegexes,
} from '@medplum/core';

/** Invariants Medplum's validator does not evaluate (its `skippedConstraintKeys`). */
const SKIPPED_INVARIANTS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);
/** Medplum's limits: a string of at most 1 MiB, base64Binary of at most 1 MiB decoded, 32-bit integers. */
const MAX_STRING = 1024 * 1024;
const MAX_BASE64_BYTES = 1024 * 1024;
const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;
const BASE64_DATA = /^[A-Za-z\d+/]+$/;
const UCUM = toTypedValue('http://unitsofmeasure.org');

type JsType = 'string' | 'number' | 'boolean';

interface Invariant {
  key: string;
  atom: FhirPathAtom;
  /** Per schema of the context: when the invariant certainly holds for lack of an element (see absenceRule). */
  shortcuts: WeakMap<InternalTypeSchema, Shortcut | null>;
}

/** True when the invariant certainly holds for this object; false means evaluate it. */
type Shortcut = (object: Record<string, unknown>) => boolean;

/** One JSON property name of a type: the element it belongs to and the type its value has under that name. */
interface Property {
  element: InternalSchemaElement;
  /** The type code (for a choice element, the one this property name selects). */
  type: string;
  /** The JSON type of a primitive; undefined for a complex type. */
  primitive: JsType | undefined;
  /** Set for a choice element: its name (`value[x]`), so that two of its properties side by side step aside. */
  choice: string | undefined;
  invariants: Invariant[];
  /** Slicing, a fixed or a pattern value: present, it sends the resource to Medplum. */
  unsupported: boolean;
}

interface CompiledType {
  properties: Map<string, Property>;
  /** For each element with min > 0: the property names any one of which satisfies it. */
  required: string[][];
  /** Invariants on the type itself (checked by Medplum for the root resource only). */
  invariants: Invariant[];
}

const compiled = new WeakMap<InternalTypeSchema, CompiledType | null>();

function invariantsOf(constraints: Constraint[] | undefined): Invariant[] {
  return (constraints ?? [])
    .filter((c) => c.severity === 'error' && !SKIPPED_INVARIANTS.has(c.key))
    .map((c) => ({ key: c.key, atom: parseFhirPath(c.expression), shortcuts: new WeakMap() }));
}

function primitiveOf(code: string): JsType | undefined {
  return (fhirTypeToJsType as Record<string, JsType>)[code];
}

/**
 * The choice element Medplum attributes a property name to: the first prefix, cut before a capital letter, that
 * names a `[x]` element (`multipleBirthBoolean` → `multipleBirth[x]`).
 */
function choiceElementOf(key: string, schema: InternalTypeSchema): string | undefined {
  let prefix = '';
  for (const part of key.split(/(?=[A-Z])/g)) {
    prefix += part;
    if (schema.elements[`${prefix}[x]`]) return `${prefix}[x]`;
  }
  return undefined;
}

/** The schema in the form the walk wants; null when the schema has a shape this path does not handle. */
function compile(schema: InternalTypeSchema): CompiledType | null {
  const cached = compiled.get(schema);
  if (cached !== undefined) return cached;
  const properties = new Map<string, Property>();
  const required: string[][] = [];
  let ok = true;
  for (const [name, element] of Object.entries(schema.elements)) {
    if (name.includes('.') || !element.type?.length) {
      ok = false;
      break;
    }
    const invariants = invariantsOf(element.constraints);
    const unsupported = Boolean(element.slicing || element.fixed || element.pattern);
    const names: string[] = [];
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const t of element.type) {
        const key = base + capitalize(t.code);
        if (properties.has(key)) ok = false;
        properties.set(key, {
          element,
          type: t.code,
          primitive: primitiveOf(t.code),
          choice: name,
          invariants,
          unsupported: unsupported || choiceElementOf(key, schema) !== name,
        });
        names.push(key);
      }
    } else {
      if (element.type.length !== 1 || properties.has(name)) ok = false;
      const code = element.type[0]!.code;
      properties.set(name, {
        element,
        type: code,
        primitive: primitiveOf(code),
        choice: undefined,
        invariants,
        unsupported,
      });
      names.push(name);
    }
    if (element.min > 0) required.push(names);
  }
  const result = ok ? { properties, required, invariants: invariantsOf(schema.constraints) } : null;
  compiled.set(schema, result);
  return result;
}

/** Resources being walked, innermost last, with their typed values (Medplum's `%resource` and `%rootResource`). */
interface Walk {
  root: TypedValue;
  resources: TypedValue[];
}

/** Functions that map an empty collection to an empty one without evaluating their arguments. */
const EMPTY_PRESERVING = new Set([
  'where',
  'select',
  'ofType',
  'first',
  'last',
  'tail',
  'skip',
  'take',
  'distinct',
]);

/**
 * `a.b.where(…).empty()`: the first property navigated, and whether the path has no function in it (then evaluating
 * it cannot throw). Undefined for any other shape.
 */
function emptinessTest(atom: Atom): { first: string; plain: boolean; rest: string[] } | undefined {
  if (!(atom instanceof DotAtom)) return undefined;
  const test = atom.right;
  if (!(test instanceof FunctionAtom) || test.name !== 'empty' || test.args.length > 0) return undefined;
  let plain = true;
  const rest: string[] = [];
  let step: Atom = atom.left;
  while (step instanceof DotAtom) {
    if (step.right instanceof FunctionAtom) {
      if (!EMPTY_PRESERVING.has(step.right.name)) return undefined;
      plain = false;
    } else if (step.right instanceof SymbolAtom) rest.unshift(step.right.name);
    else return undefined;
    step = step.left;
  }
  if (!(step instanceof SymbolAtom) || /^[%$]/.test(step.name)) return undefined;
  return { first: step.name, plain, rest };
}

/**
 * Whether navigating the property names `steps` from `start` (a JSON value, or an array of them) finds nothing: true
 * only when that is certain. Any shape where FHIRPath might find something this plain walk does not — a primitive's
 * extension (`_name`), a choice type (`nameString`), a type name, a primitive in the middle — answers false, and the
 * invariant is evaluated.
 */
function emptyAlong(start: unknown, steps: readonly string[]): boolean {
  let current: unknown[] = Array.isArray(start) ? start : [start];
  for (const name of steps) {
    if (!/^[a-z]/.test(name)) return false;
    const next: unknown[] = [];
    for (const node of current) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
      const object = node as Record<string, unknown>;
      if (object[`_${name}`] !== undefined) return false;
      const value = object[name];
      if (value === undefined) {
        for (const key in object)
          if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length]!))
            return false;
        continue;
      }
      if (Array.isArray(value)) next.push(...value);
      else next.push(value);
    }
    if (next.length === 0) return true;
    current = next;
  }
  return false;
}

/**
 * A shortcut for an invariant that holds for lack of an element, e.g. dom-2 `contained.contained.empty()` on a
 * resource without `contained`: FHIRPath navigation from a missing element is empty, every function here keeps it
 * empty without evaluating its arguments, and `empty()` of it is true; `A and B` holds when both do, `A or B` when
 * one does and the other cannot throw (Medplum evaluates both sides, and an error fails the invariant). Anything else
 * gets no shortcut and is evaluated.
 */
function absenceRule(atom: Atom, schema: InternalTypeSchema): Shortcut | undefined {
  const keysOf = (name: string): string[] | undefined => {
    if (schema.elements[name]) return [name, `_${name}`];
    const choice = schema.elements[`${name}[x]`];
    return choice?.type.flatMap((t) => {
      const key = name + capitalize(t.code);
      return [key, `_${key}`];
    });
  };
  const test = emptinessTest(atom);
  if (test) {
    const keys = keysOf(test.first);
    if (!keys) return undefined;
    const absent: Shortcut = (object) => keys.every((k) => object[k] === undefined);
    // A plain path from a plain element (dom-2 `contained.contained.empty()` on a resource that has contained ones)
    // also holds when walking it finds nothing.
    if (!test.plain || test.rest.length === 0 || !schema.elements[test.first]) return absent;
    return (object) =>
      absent(object) || (object[`_${test.first}`] === undefined && emptyAlong(object[test.first], test.rest));
  }
  if (atom instanceof AndAtom) {
    const left = absenceRule(atom.left, schema);
    const right = absenceRule(atom.right, schema);
    return left && right && ((object) => left(object) && right(object));
  }
  if (atom instanceof OrAtom) {
    const sides = [atom.left, atom.right].map((side) => ({
      rule: absenceRule(side, schema),
      safe: emptinessTest(side)?.plain === true,
    }));
    const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
    if (!a.rule && !b.rule) return undefined;
    const safe = (x: typeof a, object: Record<string, unknown>) => x.safe || x.rule?.(object) === true;
    return (object) =>
      (a.rule?.(object) === true && safe(b, object)) || (b.rule?.(object) === true && safe(a, object));
  }
  return undefined;
}

function shortcutOf(invariant: Invariant, schema: InternalTypeSchema): Shortcut | null {
  let shortcut = invariant.shortcuts.get(schema);
  if (shortcut === undefined) {
    shortcut = absenceRule(invariant.atom.child, schema) ?? null;
    invariant.shortcuts.set(schema, shortcut);
  }
  return shortcut;
}

/** Whether every invariant holds for `value`; `schema` is the value's own type when it is an object. */
function holds(invariants: Invariant[], value: TypedValue, walk: Walk, schema?: InternalTypeSchema): boolean {
  if (invariants.length === 0) return true;
  let pending = invariants;
  if (schema) {
    const object = value.value as Record<string, unknown>;
    pending = invariants.filter((inv) => shortcutOf(inv, schema)?.(object) !== true);
    if (pending.length === 0) return true;
  }
  const variables: Record<string, TypedValue> = {
    '%context': value,
    '%ucum': UCUM,
    '%resource': walk.resources[walk.resources.length - 1]!,
    '%rootResource': walk.root,
  };
  for (const invariant of pending) {
    let result: TypedValue[];
    try {
      result = evalFhirPathTyped(invariant.atom, [value], variables);
    } catch {
      return false;
    }
    if (result.length !== 1 || result[0]!.value !== true) return false;
  }
  return true;
}

function validPrimitive(value: unknown, type: string, jsType: JsType): boolean {
  if (typeof value !== jsType) return false;
  if (jsType === 'string') {
    const s = value as string;
    if (type === 'base64Binary') {
      if (s.length === 0 || s.length % 4 !== 0) return false;
      const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
      if (!BASE64_DATA.test(padding ? s.slice(0, -padding) : s)) return false;
      return Math.floor((s.length * 3) / 4) - padding <= MAX_BASE64_BYTES;
    }
    if (s.trim().length === 0 || s.length > MAX_STRING) return false;
    const regex = validationRegexes[type];
    if (regex && !regex.test(s)) return false;
    if ((type === 'date' || type === 'dateTime' || type === 'instant') && !isValidCalendarDate(s))
      return false;
    return true;
  }
  if (jsType === 'number') {
    const n = value as number;
    if (!Number.isFinite(n)) return false;
    if (type === 'integer' || type === 'positiveInt' || type === 'unsignedInt') {
      if (!Number.isInteger(n) || n > INT_MAX) return false;
      if (type === 'integer' && n < INT_MIN) return false;
      if (type === 'positiveInt' && n < 1) return false;
      if (type === 'unsignedInt' && n < 0) return false;
    }
  }
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Walks one object of type `schema`; `isResource` when it is a resource (the only place `resourceType` belongs). */
function walkObject(
  object: Record<string, unknown>,
  schema: InternalTypeSchema,
  isResource: boolean,
  walk: Walk,
): boolean {
  const type = compile(schema);
  if (!type) return false;
  let keys = 0;
  let choices: Set<string> | undefined;
  for (const key in object) {
    keys++;
    if (key === 'resourceType') {
      if (!isResource) return false;
      continue;
    }
    const property = type.properties.get(key);
    if (!property || property.unsupported) return false;
    if (property.choice) {
      choices ??= new Set();
      if (choices.has(property.choice)) return false;
      choices.add(property.choice);
    }
    const value = object[key];
    const { element } = property;
    let count = 1;
    if (Array.isArray(value)) {
      if (!element.isArray) return false;
      count = value.length;
      if (count === 0 || count < element.min || count > element.max) return false;
      for (const item of value) if (!walkValue(item, property, schema, walk)) return false;
    } else {
      if (element.isArray || element.min > 1 || element.max < 1) return false;
      if (!walkValue(value, property, schema, walk)) return false;
    }
  }
  if (keys === 0) return false;
  for (const names of type.required) {
    let present = false;
    for (const name of names) if (object[name] !== undefined) present = true;
    if (!present) return false;
  }
  return true;
}

function walkValue(value: unknown, property: Property, parent: InternalTypeSchema, walk: Walk): boolean {
  if (value === null || value === undefined) return false;
  if (property.primitive) {
    if (!validPrimitive(value, property.type, property.primitive)) return false;
    return holds(property.invariants, { type: property.type, value }, walk);
  }
  if (!isPlainObject(value)) return false;
  let typeName = property.type;
  let schema: InternalTypeSchema | undefined;
  const isResource = 'resourceType' in value;
  if (typeName === 'Resource') {
    if (!isResource || typeof value.resourceType !== 'string') return false;
    typeName = value.resourceType;
    schema = tryGetDataType(typeName);
    if (schema?.kind !== 'resource') return false;
  } else {
    if (isResource) return false;
    schema = parent.innerTypes?.find((t) => t.name === typeName) ?? tryGetDataType(typeName);
    if (!schema) return false;
  }
  const typed: TypedValue = { type: typeName, value };
  if (!holds(property.invariants, typed, walk, schema)) return false;
  if (!isResource) return walkObject(value, schema, false, walk);
  walk.resources.push(typed);
  const ok = walkObject(value, schema, true, walk);
  walk.resources.pop();
  return ok;
}

/**
 * True when `resource` (whose `resourceType` names a concrete R4 resource) certainly passes Medplum's
 * `validateResource` without an error; false when it may not, and only Medplum's validator can tell.
 *
 * @example
 * const issues = provedValid(resource) ? [] : validateResource(resource);
 */
export function provedValid(resource: { readonly resourceType: string }): boolean {
  const schema = tryGetDataType(resource.resourceType);
  if (schema?.kind !== 'resource') return false;
  const type = compile(schema);
  if (!type) return false;
  const root: TypedValue = { type: resource.resourceType, value: resource };
  const walk: Walk = { root, resources: [root] };
  return (
    holds(type.invariants, root, walk, schema) &&
    walkObject(resource as Record<string, unknown>, schema, true, walk)
  );
}
