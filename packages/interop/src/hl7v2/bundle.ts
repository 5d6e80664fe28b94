/** Collects the resources made from one message into a Bundle with stable `urn:uuid` identities. */
import { createHash } from 'node:crypto';
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** A reference to another entry of the bundle (assignable to any typed FHIR Reference). */
export interface Ref {
  readonly reference: string;
  readonly display?: string;
}

/** An object whose optional properties may also be given as undefined (dropped by {@link clean}). */
export type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/** Drops undefined properties, empty strings and empty arrays, so builders can write every field unconditionally. */
export function clean<T extends object>(o: Loose<T>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = Array.isArray(v) ? v.filter((x) => x !== undefined) : v;
    if (Array.isArray(out[k]) && (out[k] as unknown[]).length === 0) delete out[k];
  }
  return out as T;
}

/** Keeps only defined items. */
export function defined<T>(items: readonly (T | undefined)[]): T[] {
  return items.filter((x): x is T => x !== undefined);
}

/**
 * Resource ids are derived from the message text, so converting the same message twice gives the same bundle
 * (an ingest retried after a crash produces identical records and content identifiers).
 */
export class BundleBuilder {
  readonly #seed: string;
  readonly #entries: { fullUrl: string; resource: Resource }[] = [];
  readonly #byKey = new Map<string, Ref>();

  constructor(text: string) {
    this.#seed = createHash('sha256').update(text).digest('hex');
  }

  /** Adds a resource, giving it an id; returns a reference to it (with `display` when given). */
  add(resource: Resource, display?: string): Ref {
    const id = this.#uuid(this.#entries.length);
    (resource as { id?: string }).id = id;
    this.#entries.push({ fullUrl: `urn:uuid:${id}`, resource });
    return { reference: `urn:uuid:${id}`, ...(display !== undefined && display !== '' && { display }) };
  }

  /** Adds the resource made by `make` once per key (e.g. one Practitioner per person named in the message). */
  addOnce(key: string, make: () => Resource, display?: string): Ref {
    const existing = this.#byKey.get(key);
    if (existing) return existing;
    const ref = this.add(make(), display);
    this.#byKey.set(key, ref);
    return ref;
  }

  get resources(): Resource[] {
    return this.#entries.map((e) => e.resource);
  }

  build(timestamp: string | undefined): Bundle {
    return {
      resourceType: 'Bundle',
      id: this.#uuid(-1),
      type: 'collection',
      ...(timestamp !== undefined && { timestamp }),
      entry: this.#entries.map((e) => ({ fullUrl: e.fullUrl, resource: e.resource })),
    };
  }

  #uuid(n: number): string {
    const h = createHash('sha256').update(`${this.#seed}:${n}`).digest('hex');
    const variant = ((Number.parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
