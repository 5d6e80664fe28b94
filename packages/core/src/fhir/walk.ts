/**
 * The checks we run on top of Medplum's validator (required bindings, rules.ts) in one pass: walks the JSON
 * alongside the type schemas Medplum indexed, descending into datatypes, backbone elements, and contained and
 * bundled resources. Unknown properties are skipped here; Medplum reports them.
 */
import { type InternalTypeSchema, tryGetDataType } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { checkBinding } from './bindings.ts';
import { checkArray, checkResourceRules, checkTypeRules } from './rules.ts';
import type { Terminology } from './terminology.ts';

/** How one JSON property name maps onto its element (choice types expand to one property per type). */
interface PropertyInfo {
  readonly type: string;
  readonly bindingUrl: string | undefined;
}

type JsonObject = Record<string, unknown>;

const propertyIndexes = new WeakMap<InternalTypeSchema, Map<string, PropertyInfo>>();
const RESOURCE_TYPES = new Set(['Resource', 'DomainResource']);

/**
 * Appends an issue for every violation found in `resource` and the resources inside it.
 * `path` is the FHIRPath of `resource` (its resourceType for a top-level resource).
 */
export function checkExtraRules(
  resource: JsonObject,
  terminology: Terminology,
  issues: OperationOutcomeIssue[],
  path: string = String(resource.resourceType),
): void {
  const schema =
    typeof resource.resourceType === 'string' ? tryGetDataType(resource.resourceType) : undefined;
  if (!schema) return;
  checkResourceRules(resource, path, issues);
  walkObject(resource, schema, path, terminology, issues);
}

function walkObject(
  object: JsonObject,
  schema: InternalTypeSchema,
  path: string,
  terminology: Terminology,
  issues: OperationOutcomeIssue[],
): void {
  const properties = propertyIndex(schema);
  for (const key in object) {
    const property = properties.get(key);
    if (!property) continue;
    const value = object[key];
    if (Array.isArray(value)) {
      checkArray(value, `${path}.${key}`, issues);
      for (let i = 0; i < value.length; i++) {
        visit(value[i], property, `${path}.${key}[${i}]`, terminology, issues);
      }
    } else {
      visit(value, property, `${path}.${key}`, terminology, issues);
    }
  }
}

function visit(
  value: unknown,
  property: PropertyInfo,
  path: string,
  terminology: Terminology,
  issues: OperationOutcomeIssue[],
): void {
  if (property.bindingUrl) {
    const expansion = terminology.expand(property.bindingUrl);
    if (expansion) checkBinding(value, property.type, expansion, path, issues);
  }
  if (value === null || typeof value !== 'object' || isPrimitiveType(property.type)) return;
  const object = value as JsonObject;
  if (RESOURCE_TYPES.has(property.type)) {
    checkExtraRules(object, terminology, issues, path);
    return;
  }
  checkTypeRules(property.type, object, path, issues);
  const schema = tryGetDataType(property.type);
  if (schema) walkObject(object, schema, path, terminology, issues);
}

function propertyIndex(schema: InternalTypeSchema): Map<string, PropertyInfo> {
  let index = propertyIndexes.get(schema);
  if (index) return index;
  index = new Map();
  for (const [name, element] of Object.entries(schema.elements)) {
    const binding = element.binding;
    const bindingUrl = binding?.strength === 'required' ? binding.valueSet : undefined;
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const t of element.type) {
        index.set(base + t.code.charAt(0).toUpperCase() + t.code.slice(1), { type: t.code, bindingUrl });
      }
    } else {
      const type = element.type[0]?.code;
      if (type) index.set(name, { type, bindingUrl });
    }
  }
  propertyIndexes.set(schema, index);
  return index;
}

function isPrimitiveType(type: string): boolean {
  const first = type.charCodeAt(0);
  return first >= 97 && first <= 122; // lower-case initial: FHIR primitive (code, string, xhtml, ...)
}
