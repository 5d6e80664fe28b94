/** FHIR JSON → FHIR XML, driven by the R4 StructureDefinitions (element order, attributes, primitives). */
import type { Resource } from '@medplum/fhirtypes';
import { FhirXmlError } from './errors.ts';
import { type ElementDef, fhirSchema, type Schema } from './schema.ts';
import { escapeAttr } from './xml.ts';

type Json = Record<string, unknown>;

/**
 * Writes a FHIR R4 resource (JSON form) as FHIR XML: elements in definition order, primitives as `value`
 * attributes with their `_name` extensions, `id` and `url` as attributes where XML puts them, the narrative `div` as is.
 *
 * @throws FhirXmlError naming the FHIR path of a property that R4 does not define.
 * @example
 * const xml = fhirJsonToXml({ resourceType: 'Patient', id: 'p1', active: true });
 */
export function fhirJsonToXml(resource: Resource): string {
  const r = resource as unknown as Json;
  if (r === null || typeof r !== 'object' || typeof r.resourceType !== 'string') {
    throw new FhirXmlError('a FHIR resource must be an object with a string resourceType');
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${writeResource(r, fhirSchema(), '', true)}\n`;
}

function writeResource(r: Json, schema: Schema, indent: string, root: boolean): string {
  const type = r.resourceType as string;
  if (!schema.isResource(type) || schema.elements(type) === undefined)
    throw new FhirXmlError(`${type} is not an R4 resource type`);
  const ns = root ? ' xmlns="http://hl7.org/fhir"' : '';
  const body = writeChildren(r, type, type, schema, `${indent}  `, true);
  return `${indent}<${type}${ns}>\n${body}${indent}</${type}>`;
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The JSON keys a definition accounts for, with the type each carries. */
function keysFor(def: ElementDef, obj: Json): { key: string; type: string }[] {
  if (!def.choice)
    return def.name in obj || `_${def.name}` in obj
      ? [{ key: def.name, type: def.types[0] ?? 'BackboneElement' }]
      : [];
  const out: { key: string; type: string }[] = [];
  for (const t of def.types) {
    const key = def.name + upperFirst(t);
    if (key in obj || `_${key}` in obj) out.push({ key, type: t });
  }
  return out;
}

function writeChildren(
  obj: Json,
  typePath: string,
  path: string,
  schema: Schema,
  indent: string,
  isResource: boolean,
): string {
  const defs = schema.elements(typePath) ?? [];
  const used = new Set<string>(['resourceType']);
  if (!isResource) used.add('id');
  if (typePath === 'Extension') used.add('url');
  let out = '';
  for (const def of defs) {
    if (!isResource && def.name === 'id') continue;
    if (typePath === 'Extension' && def.name === 'url') continue;
    for (const { key, type } of keysFor(def, obj)) {
      used.add(key);
      used.add(`_${key}`);
      out += writeElement(key, type, def, obj[key], obj[`_${key}`], `${path}.${key}`, schema, indent);
    }
  }
  for (const key of Object.keys(obj)) {
    if (!used.has(key)) throw new FhirXmlError(`${path}: unknown property "${key}"`);
  }
  return out;
}

function writeElement(
  key: string,
  type: string,
  def: ElementDef,
  value: unknown,
  ext: unknown,
  path: string,
  schema: Schema,
  indent: string,
): string {
  const values = def.array ? asArray(value, path) : [value];
  const exts = def.array ? asArray(ext, `${path} (_${key})`) : [ext];
  const n = Math.max(values.length, exts.length);
  let out = '';
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? null;
    const e = (exts[i] ?? null) as Json | null;
    if (type === 'xhtml') {
      if (typeof v !== 'string') throw new FhirXmlError(`${path}: narrative div must be a string`);
      out += `${indent}${v}\n`;
    } else if (schema.isPrimitive(type)) {
      out += writePrimitive(key, v, e, path, schema, indent);
    } else if (schema.isResource(type)) {
      if (v === null || typeof v !== 'object') throw new FhirXmlError(`${path}: must be a resource object`);
      out += `${indent}<${key}>\n${writeResource(v as Json, schema, `${indent}  `, false)}\n${indent}</${key}>\n`;
    } else {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw new FhirXmlError(`${path}: must be an object`);
      out += writeComplex(key, v as Json, def.children ?? schema.base(type), path, schema, indent);
    }
  }
  return out;
}

function asArray(v: unknown, path: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new FhirXmlError(`${path}: must be an array`);
  return v;
}

function attrs(obj: Json | null, typePath: string): string {
  if (obj === null) return '';
  let a = typeof obj.id === 'string' ? ` id="${escapeAttr(obj.id)}"` : '';
  if (typePath === 'Extension' && typeof obj.url === 'string') a += ` url="${escapeAttr(obj.url)}"`;
  return a;
}

function writeComplex(
  key: string,
  obj: Json,
  typePath: string,
  path: string,
  schema: Schema,
  indent: string,
): string {
  const body = writeChildren(obj, typePath, path, schema, `${indent}  `, false);
  const a = attrs(obj, typePath);
  return body === '' ? `${indent}<${key}${a}/>\n` : `${indent}<${key}${a}>\n${body}${indent}</${key}>\n`;
}

function writePrimitive(
  key: string,
  v: unknown,
  e: Json | null,
  path: string,
  schema: Schema,
  indent: string,
): string {
  if (v !== null && typeof v === 'object') throw new FhirXmlError(`${path}: a primitive cannot be an object`);
  const value = v === null ? '' : ` value="${escapeAttr(String(v))}"`;
  const body =
    e === null ? '' : writeChildren(e, 'Element', `${path} (_${key})`, schema, `${indent}  `, false);
  const a = attrs(e, 'Element');
  return body === ''
    ? `${indent}<${key}${a}${value}/>\n`
    : `${indent}<${key}${a}${value}>\n${body}${indent}</${key}>\n`;
}
