/**
 * The gateway's in-memory FHIR store: Medplum's MemoryRepository (its search semantics are what we serve) extended
 * with what a ledger-backed store needs. Writes never touch the live store: a request runs against a cheap fork,
 * the fork is diffed against its parent, the changes are sealed and anchored, and only then does the fork replace
 * the live store. Deleted resources keep their history, answer 410 Gone, and carry a tombstone version.
 *
 * Search keeps Medplum's semantics and result order but not its linear scan: Medplum's `search` and
 * `conditionalCreate` both go through its private `searchSync`, which this class replaces with an indexed one
 * (search-index.ts). The index is shared with every fork, so forking stays a map copy.
 */
import {
  deepClone,
  type Filter,
  gone,
  matchesSearchRequest,
  notFound,
  OperationOutcomeError,
  type SearchRequest,
} from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { SearchIndex } from './search-index.ts';
import { isTombstone } from './vocabulary.ts';

type Versions = Resource[];

/** Medplum keeps these private; the fork/diff needs them (both are plain Maps keyed type → id). */
interface Internals {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Versions>>;
  searchSync: (request: SearchRequest) => Bundle;
}

/** One resource changed by a request: `after` is absent for a delete. */
export interface Change {
  resourceType: string;
  id: string;
  before: Resource | undefined;
  after: Resource | undefined;
}

export class LedgerRepository extends MemoryRepository {
  private readonly index: SearchIndex;

  constructor(index: SearchIndex = new SearchIndex()) {
    super();
    this.index = index;
    // Medplum's search, conditionalCreate and _revinclude all run its private searchSync: answer it from indexes.
    const medplumSearch = this.internals.searchSync.bind(this);
    this.internals.searchSync = (request) =>
      indexedSearch(request, this.internals.resources, this.index) ?? medplumSearch(request);
  }

  private get internals(): Internals {
    return this as unknown as Internals;
  }

  /**
   * A copy that shares the (never mutated) stored resource objects with this one, so a request can run against it
   * and be thrown away. O(number of resources) map copies, no resource copies.
   */
  fork(): LedgerRepository {
    const copy = new LedgerRepository(this.index);
    const src = this.internals;
    const dst = copy.internals;
    for (const [type, byId] of src.resources) dst.resources.set(type, new Map(byId));
    for (const [type, byId] of src.history) {
      const m = new Map<string, Versions>();
      for (const [id, versions] of byId) m.set(id, [...versions]);
      dst.history.set(type, m);
    }
    return copy;
  }

  /** What `fork` (derived from this repository) changed: created, updated and deleted resources. */
  diff(fork: LedgerRepository): Change[] {
    const mine = this.internals.resources;
    const theirs = fork.internals.resources;
    const out: Change[] = [];
    for (const [type, byId] of theirs) {
      const base = mine.get(type);
      for (const [id, after] of byId) {
        const before = base?.get(id);
        if (before !== after) out.push({ resourceType: type, id, before, after });
      }
    }
    for (const [type, byId] of mine) {
      const other = theirs.get(type);
      for (const [id, before] of byId) {
        if (!other?.has(id)) out.push({ resourceType: type, id, before, after: undefined });
      }
    }
    return out;
  }

  /**
   * Makes the history of each changed resource its parent's history plus exactly the version that was anchored
   * (a request that touched one resource twice anchors only the final state), with a tombstone for a delete.
   */
  settle(parent: LedgerRepository, anchored: { change: Change; version: Resource }[]): void {
    for (const { change, version } of anchored) {
      const previous = parent.internals.history.get(change.resourceType)?.get(change.id) ?? [];
      this.historyOf(change.resourceType).set(change.id, [...previous, version]);
    }
  }

  /** Loads one resource's versions, oldest first, as read back from the ledger (tombstones included). */
  seed(resourceType: string, id: string, versions: Resource[]): void {
    if (versions.length === 0) return;
    this.historyOf(resourceType).set(id, versions);
    const last = versions[versions.length - 1] as Resource;
    const current = this.resourcesOf(resourceType);
    if (isTombstone(last)) current.delete(id);
    else current.set(id, last);
  }

  /** Puts a derived resource (never anchored itself) into the store as is. */
  put(resource: Resource & { id: string }): void {
    this.resourcesOf(resource.resourceType).set(resource.id, resource);
    this.historyOf(resource.resourceType).set(resource.id, [resource]);
  }

  /** The current version, or undefined; no copy (callers must not mutate). */
  peek(resourceType: string, id: string): Resource | undefined {
    return this.internals.resources.get(resourceType)?.get(id);
  }

  /** Every current resource (no copies). */
  *all(): Iterable<Resource> {
    for (const byId of this.internals.resources.values()) yield* byId.values();
  }

  /** Every resource type with at least one resource ever stored. */
  countByType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [type, byId] of this.internals.resources) if (byId.size) out[type] = byId.size;
    return out;
  }

  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<T> {
    const current = this.peek(resourceType, id);
    if (current) return structuredClone(current) as T;
    if (this.internals.history.get(resourceType)?.has(id)) throw new OperationOutcomeError(gone);
    throw new OperationOutcomeError(notFound);
  }

  override async readVersion<T extends Resource>(
    resourceType: string,
    id: string,
    versionId: string,
  ): Promise<T> {
    const version = this.internals.history
      .get(resourceType)
      ?.get(id)
      ?.find((v) => v.meta?.versionId === versionId);
    if (!version) throw new OperationOutcomeError(notFound);
    if (isTombstone(version)) throw new OperationOutcomeError(gone);
    return structuredClone(version) as T;
  }

  /** Newest first; a delete appears as an entry with a DELETE request and no resource (FHIR R4 §3.1.0.10). */
  override async readHistory<T extends Resource>(resourceType: string, id: string): Promise<Bundle<T>> {
    const versions = this.internals.history.get(resourceType)?.get(id);
    if (!versions?.length) throw new OperationOutcomeError(notFound);
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      entry: historyEntries<T>(versions),
    };
  }

  /** Every version of every resource of `resourceType`, newest first. */
  typeHistory(resourceType: string): Resource[] {
    const out: Resource[] = [];
    for (const versions of this.internals.history.get(resourceType)?.values() ?? []) out.push(...versions);
    return out.sort((a, b) => (b.meta?.lastUpdated ?? '').localeCompare(a.meta?.lastUpdated ?? ''));
  }

  private resourcesOf(type: string): Map<string, Resource> {
    const m = this.internals.resources.get(type) ?? new Map<string, Resource>();
    this.internals.resources.set(type, m);
    return m;
  }

  private historyOf(type: string): Map<string, Versions> {
    const m = this.internals.history.get(type) ?? new Map<string, Versions>();
    this.internals.history.set(type, m);
    return m;
  }
}

/**
 * Medplum's `searchSync` (same matches, order, sorting, paging and total) with indexed candidates; undefined for what
 * it leaves to Medplum (chained and `_has` filters, unknown types).
 */
function indexedSearch(
  request: SearchRequest,
  resources: Map<string, Map<string, Resource>>,
  index: SearchIndex,
): Bundle | undefined {
  const byId = resources.get(request.resourceType);
  const filters = request.filters ?? [];
  if (!byId || filters.some((f) => f.code.includes('.') || f.code.startsWith('_has:'))) return undefined;

  let candidates: Set<Resource> | undefined;
  const rest: Filter[] = [];
  const sets: Set<Resource>[] = [];
  for (const f of filters) {
    const set = index.match(request.resourceType, f, byId);
    if (set) sets.push(set);
    else rest.push(f);
  }
  sets.sort((a, b) => a.size - b.size);
  if (sets.length) {
    candidates = sets[0] as Set<Resource>;
    for (const other of sets.slice(1)) candidates = new Set([...candidates].filter((r) => other.has(r)));
  }
  const remaining: SearchRequest = { resourceType: request.resourceType, filters: rest };
  // Walk the store in its (insertion) order, as Medplum's scan does; only candidates are tested, by identity.
  let matched: Resource[] = [];
  for (const r of byId.values()) if (!candidates || candidates.has(r)) matched.push(r);
  if (rest.length) matched = matched.filter((r) => matchesSearchRequest(r, remaining));

  for (const rule of request.sortRules ?? []) {
    const keyOf = index.sortKey(request.resourceType, rule.code);
    if (!keyOf) continue;
    const sign = rule.descending ? -1 : 1;
    matched = matched.sort((x, y) => keyOf(x).localeCompare(keyOf(y)) * sign);
  }
  let page = matched;
  if (request.offset !== undefined) page = page.slice(request.offset);
  if (request.count !== undefined) page = page.slice(0, request.count);
  const entry = page.map(
    (resource): BundleEntry => ({ search: { mode: 'match' }, resource: deepClone(resource) }),
  );
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(entry.length ? { entry } : {}),
    total: matched.length,
  };
}

/** History bundle entries for versions (oldest first in), newest first out. */
export function historyEntries<T extends Resource>(versions: Resource[]): BundleEntry<T>[] {
  return versions
    .map((v, i): BundleEntry<T> => {
      const url = `${v.resourceType}/${v.id}`;
      const response = {
        status: isTombstone(v) ? '204' : i === 0 ? '201' : '200',
        etag: `W/"${v.meta?.versionId}"`,
        ...(v.meta?.lastUpdated ? { lastModified: v.meta.lastUpdated } : {}),
      };
      if (isTombstone(v)) return { request: { method: 'DELETE', url }, response };
      return {
        resource: structuredClone(v) as T,
        request: { method: i === 0 ? 'POST' : 'PUT', url: i === 0 ? v.resourceType : url },
        response,
      };
    })
    .reverse();
}
