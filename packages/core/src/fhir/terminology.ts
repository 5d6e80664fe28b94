/**
 * Value set expansion for required-binding checks.
 *
 * Only value sets that can be expanded exactly from the shipped definitions are expanded: explicit concept lists,
 * whole CodeSystems whose content is `complete`, other expandable value sets, `is-a`/`descendent-of` filters over a
 * nested concept hierarchy, and explicit excludes. Anything else (external terminologies such as SNOMED CT, BCP-47
 * languages or MIME types, property filters) yields `undefined` so the caller skips the check rather than rejecting
 * data it cannot judge.
 */
import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  ValueSet,
  ValueSetComposeInclude,
} from '@medplum/fhirtypes';

/** Codes of an expanded value set, by code system, plus every code regardless of system. */
export interface ValueSetExpansion {
  readonly url: string;
  readonly bySystem: ReadonlyMap<string, ReadonlySet<string>>;
  readonly allCodes: ReadonlySet<string>;
}

/** An index of CodeSystems and ValueSets that expands value sets on demand and caches the result. */
export interface Terminology {
  /** Adds the CodeSystems and ValueSets of a definitions bundle (other entries are ignored). */
  addBundle(bundle: Bundle): void;
  /** Expands a value set by canonical URL (a `|version` suffix is ignored); `undefined` when it cannot be expanded. */
  expand(canonical: string): ValueSetExpansion | undefined;
}

type CodeMap = Map<string, Set<string>>;

/** Creates an empty terminology index. */
export function createTerminology(): Terminology {
  const codeSystems = new Map<string, CodeSystem>();
  const valueSets = new Map<string, ValueSet>();
  const cache = new Map<string, ValueSetExpansion | undefined>();

  function addBundle(bundle: Bundle): void {
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'CodeSystem' && resource.url && !codeSystems.has(resource.url)) {
        codeSystems.set(resource.url, resource);
      } else if (resource?.resourceType === 'ValueSet' && resource.url && !valueSets.has(resource.url)) {
        valueSets.set(resource.url, resource);
      }
    }
    cache.clear();
  }

  function expand(canonical: string): ValueSetExpansion | undefined {
    const url = stripVersion(canonical);
    if (cache.has(url)) return cache.get(url);
    const codes = expandUrl(url, new Set());
    const expansion = codes ? toExpansion(url, codes) : undefined;
    cache.set(url, expansion);
    return expansion;
  }

  function expandUrl(url: string, visiting: Set<string>): CodeMap | undefined {
    const valueSet = valueSets.get(url);
    if (!valueSet || visiting.has(url)) return undefined;
    visiting.add(url);
    try {
      if (valueSet.compose)
        return expandCompose(valueSet.compose.include, valueSet.compose.exclude ?? [], visiting);
      return undefined;
    } finally {
      visiting.delete(url);
    }
  }

  function expandCompose(
    include: ValueSetComposeInclude[],
    exclude: ValueSetComposeInclude[],
    visiting: Set<string>,
  ): CodeMap | undefined {
    const result: CodeMap = new Map();
    for (const part of include) {
      const codes = expandPart(part, visiting);
      if (!codes) return undefined;
      mergeInto(result, codes);
    }
    for (const part of exclude) {
      const codes = expandPart(part, visiting);
      if (!codes) return undefined;
      for (const [system, excluded] of codes) {
        const kept = result.get(system);
        for (const code of excluded) kept?.delete(code);
      }
    }
    return result;
  }

  function expandPart(part: ValueSetComposeInclude, visiting: Set<string>): CodeMap | undefined {
    let fromSystem: CodeMap | undefined;
    if (part.system) {
      const codes = expandSystemPart(part);
      if (!codes) return undefined;
      fromSystem = new Map([[part.system, codes]]);
    }
    if (!part.valueSet?.length) return fromSystem;
    // Including other value sets intersects them with each other (and with the system part, if any).
    let result = fromSystem;
    for (const ref of part.valueSet) {
      const codes = expandUrl(stripVersion(ref), visiting);
      if (!codes) return undefined;
      result = result ? intersect(result, codes) : codes;
    }
    return result;
  }

  function expandSystemPart(part: ValueSetComposeInclude): Set<string> | undefined {
    if (part.concept?.length && !part.filter?.length) return new Set(part.concept.map((c) => c.code));
    const system = part.system ? codeSystems.get(part.system) : undefined;
    if (system?.content !== 'complete') return undefined;
    if (!part.filter?.length) {
      const codes = new Set<string>();
      collectCodes(system.concept ?? [], codes);
      return codes;
    }
    let codes: Set<string> | undefined;
    for (const filter of part.filter) {
      const matched = applyHierarchyFilter(system, filter.property, filter.op, filter.value);
      if (!matched) return undefined;
      codes = codes ? new Set([...codes].filter((c) => matched.has(c))) : matched;
    }
    return codes;
  }

  return { addBundle, expand };
}

/** `concept is-a X` / `descendent-of X` over a CodeSystem whose hierarchy is expressed by nesting. */
function applyHierarchyFilter(
  system: CodeSystem,
  property: string,
  op: string,
  value: string,
): Set<string> | undefined {
  if (property !== 'concept' || (op !== 'is-a' && op !== 'descendent-of')) return undefined;
  if (system.hierarchyMeaning && system.hierarchyMeaning !== 'is-a') return undefined;
  if (system.concept?.some((c) => c.property?.some((p) => p.code === 'subsumedBy' || p.code === 'parent'))) {
    return undefined;
  }
  const root = findConcept(system.concept ?? [], value);
  if (!root) return undefined;
  const codes = new Set<string>();
  collectCodes(root.concept ?? [], codes);
  if (op === 'is-a') codes.add(root.code);
  return codes;
}

function findConcept(concepts: CodeSystemConcept[], code: string): CodeSystemConcept | undefined {
  for (const concept of concepts) {
    if (concept.code === code) return concept;
    const nested = concept.concept ? findConcept(concept.concept, code) : undefined;
    if (nested) return nested;
  }
  return undefined;
}

function collectCodes(concepts: CodeSystemConcept[], into: Set<string>): void {
  for (const concept of concepts) {
    into.add(concept.code);
    if (concept.concept) collectCodes(concept.concept, into);
  }
}

function mergeInto(target: CodeMap, source: CodeMap): void {
  for (const [system, codes] of source) {
    const existing = target.get(system);
    if (existing) for (const code of codes) existing.add(code);
    else target.set(system, new Set(codes));
  }
}

function intersect(a: CodeMap, b: CodeMap): CodeMap {
  const result: CodeMap = new Map();
  for (const [system, codes] of a) {
    const other = b.get(system);
    if (other) result.set(system, new Set([...codes].filter((c) => other.has(c))));
  }
  return result;
}

function toExpansion(url: string, bySystem: CodeMap): ValueSetExpansion {
  const allCodes = new Set<string>();
  for (const codes of bySystem.values()) for (const code of codes) allCodes.add(code);
  return { url, bySystem, allCodes };
}

function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}
