/** FHIR XML → FHIR JSON, driven by the R4 StructureDefinitions. */
import type { Resource } from '@medplum/fhirtypes';
import { FhirXmlError } from './errors.ts';
import { choiceType, type ElementDef, fhirSchema, jsonKind, type Schema } from './schema.ts';
import { parseXml, serialize, type XmlElement } from './xml.ts';

const FHIR_NS = 'http://hl7.org/fhir';
const XHTML_NS = 'http://www.w3.org/1999/xhtml';

type Json = Record<string, unknown>;

/**
 * Converts a FHIR R4 resource in XML to its JSON form. Comments are dropped (JSON has no place for them);
 * decimals become JSON numbers, so `1.50` reads as `1.5`.
 *
 * @throws FhirXmlError for malformed XML (with line:column) or XML that is not an R4 resource (with the FHIR path).
 * @example
 * const patient = fhirXmlToJson('<Patient xmlns="http://hl7.org/fhir"><id value="p1"/></Patient>');
 */
export function fhirXmlToJson(xml: string): Resource {
  if (typeof xml !== 'string') throw new FhirXmlError('input is not text');
  const root = parseXml(xml);
  return resource(root, fhirSchema()) as unknown as Resource;
}

function fail(reason: string, el: XmlElement): never {
  throw new FhirXmlError(reason, { line: el.line, column: el.column });
}

function elementsOf(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c === 'string') {
      if (c.trim() !== '') fail(`unexpected text inside <${el.name}>`, el);
    } else out.push(c);
  }
  return out;
}

function resource(el: XmlElement, schema: Schema): Json {
  if (el.ns !== FHIR_NS) fail(`<${el.name}> is not in the FHIR namespace ${FHIR_NS}`, el);
  if (!schema.isResource(el.name) || schema.elements(el.name) === undefined)
    fail(`<${el.name}> is not an R4 resource type`, el);
  return { resourceType: el.name, ...complex(el, el.name, el.name, schema, true) };
}

function findDef(defs: readonly ElementDef[], name: string): { def: ElementDef; type: string } | undefined {
  for (const def of defs) {
    if (!def.choice && def.name === name) return { def, type: def.types[0] ?? 'BackboneElement' };
    if (def.choice && name.startsWith(def.name)) {
      const type = choiceType(def, name);
      if (type) return { def, type };
    }
  }
  return undefined;
}

/** The elements of a complex value; `path` names the FHIR path for messages, `typePath` where its elements are defined. */
function complex(el: XmlElement, typePath: string, path: string, schema: Schema, isResource: boolean): Json {
  const defs = schema.elements(typePath) ?? [];
  const out: Json = {};
  const primitiveSlots = new Map<string, { values: unknown[]; exts: (Json | null)[] }>();
  if (!isResource) {
    const id = el.attrs.get('id');
    if (id !== undefined) out.id = id;
    if (typePath === 'Extension') {
      const url = el.attrs.get('url');
      if (url === undefined) fail(`${path}: extension without a url attribute`, el);
      out.url = url;
    }
  }
  for (const child of elementsOf(el)) {
    const found = findDef(defs, child.name);
    if (child.ns !== FHIR_NS && found?.type !== 'xhtml')
      fail(`${path}: <${child.name}> is not in the FHIR namespace`, child);
    if (
      found === undefined ||
      (!isResource && found.def.name === 'id') ||
      (typePath === 'Extension' && found.def.name === 'url')
    ) {
      fail(`${path}: unknown element <${child.name}>`, child);
    }
    const { def, type } = found;
    const key = child.name;
    const childPath = `${path}.${key}`;
    if (schema.isPrimitive(type) && type !== 'xhtml') {
      const slot = primitiveSlots.get(key) ?? { values: [], exts: [] };
      const { value, ext } = primitive(child, type, childPath, schema);
      slot.values.push(value);
      slot.exts.push(ext);
      primitiveSlots.set(key, slot);
      if (!def.array && slot.values.length > 1) fail(`${childPath}: repeats but allows one value`, child);
      continue;
    }
    let value: unknown;
    if (type === 'xhtml') value = xhtml(child);
    else if (schema.isResource(type)) {
      const inner = elementsOf(child);
      if (inner.length !== 1) fail(`${childPath}: must hold exactly one resource`, child);
      value = resource(inner[0] as XmlElement, schema);
    } else {
      const target = def.children ?? schema.base(type);
      value = complex(child, target, childPath, schema, false);
    }
    if (def.array) out[key] = [...((out[key] as unknown[] | undefined) ?? []), value];
    else if (key in out) fail(`${childPath}: repeats but allows one value`, child);
    else out[key] = value;
  }
  for (const [key, slot] of primitiveSlots) {
    const def = findDef(defs, key)?.def as ElementDef;
    const anyValue = slot.values.some((v) => v !== null);
    const anyExt = slot.exts.some((e) => e !== null);
    if (def.array) {
      if (anyValue) out[key] = slot.values;
      if (anyExt) out[`_${key}`] = slot.exts;
    } else {
      if (anyValue) out[key] = slot.values[0];
      if (anyExt) out[`_${key}`] = slot.exts[0];
    }
  }
  return out;
}

/** A primitive element: its `value` attribute (typed for JSON) and its id/extensions for the `_name` twin. */
function primitive(
  el: XmlElement,
  type: string,
  path: string,
  schema: Schema,
): { value: unknown; ext: Json | null } {
  const raw = el.attrs.get('value');
  let value: unknown = null;
  if (raw !== undefined) {
    const kind = jsonKind(type);
    if (kind === 'boolean') {
      if (raw !== 'true' && raw !== 'false') fail(`${path}: boolean value must be true or false`, el);
      value = raw === 'true';
    } else if (kind === 'number') {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) fail(`${path}: ${type} value is not a number`, el);
      value = n;
    } else value = raw;
  }
  const ext = complex(
    { ...el, attrs: new Map([...el.attrs].filter(([k]) => k === 'id')) },
    'Element',
    path,
    schema,
    false,
  );
  const hasExt = Object.keys(ext).length > 0;
  if (value === null && !hasExt) fail(`${path}: has neither a value nor extensions`, el);
  return { value, ext: hasExt ? ext : null };
}

function xhtml(el: XmlElement): string {
  if (el.ns !== XHTML_NS) fail(`<${el.name}> narrative must be in the XHTML namespace`, el);
  const text = serialize(el);
  return el.rawAttrs.some(([k]) => k === 'xmlns') ? text : text.replace(/^<div/, `<div xmlns="${XHTML_NS}"`);
}
