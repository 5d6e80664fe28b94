/**
 * Reading the gateway identity's FHIR records back from the ledger: list, fetch and verify each (the SDK checks the
 * anchor, signature, commitment and AEAD before any plaintext is returned), then order each resource's versions
 * along the records' `supersedes` chain. Records written by others for this identity (a provider's batch) may lack
 * an id or version; those get ones derived from the record id, so every load yields the same store.
 */
import type { MedblocClient, RecordSummary } from '@medbloc/sdk';
import type { Resource } from '@medplum/fhirtypes';

export interface LedgerVersion {
  resource: Resource & { id: string };
  recordId: `0x${string}`;
  supersedes: `0x${string}`;
  creator: string;
  txHash: string;
}

export interface LedgerLoad {
  /** Versions of each resource (`Type/id`), oldest first. */
  resources: Map<string, LedgerVersion[]>;
  /** Records that could not be read or verified, with the reason. */
  failed: { recordId: string; reason: string }[];
}

/**
 * Loads every FHIR record the client's identity owns.
 *
 * @example
 * const { resources, failed } = await loadLedger(client, { concurrency: 8 });
 */
export async function loadLedger(
  client: MedblocClient,
  o: { concurrency?: number } = {},
): Promise<LedgerLoad> {
  const listed = (await client.listRecords()).filter((r) => r.meta?.kind === 'fhir');
  const loaded: { summary: RecordSummary; resource: Resource & { id: string } }[] = [];
  const failed: LedgerLoad['failed'] = [];
  let next = 0;
  const worker = async () => {
    while (next < listed.length) {
      const summary = listed[next++] as RecordSummary;
      try {
        const { resource } = await client.getRecord(summary.recordId);
        if (!resource || typeof resource.resourceType !== 'string') throw new Error('not a FHIR resource');
        loaded.push({ summary, resource: normalise(resource as unknown as Resource, summary) });
      } catch (err) {
        failed.push({ recordId: summary.recordId, reason: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 8, listed.length) }, worker));

  const byRecord = new Map<string, (typeof loaded)[number]>(loaded.map((l) => [l.summary.recordId, l]));
  const depth = new Map<string, number>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    depth.set(id, 0); // guards a (malformed) cycle
    const parent = byRecord.get(id)?.summary.supersedes;
    const d = parent && byRecord.has(parent) ? depthOf(parent) + 1 : 0;
    depth.set(id, d);
    return d;
  };
  const resources = new Map<string, LedgerVersion[]>();
  for (const l of [...loaded].sort(
    (a, b) =>
      depthOf(a.summary.recordId) - depthOf(b.summary.recordId) ||
      a.summary.blockNumber - b.summary.blockNumber ||
      a.summary.recordId.localeCompare(b.summary.recordId),
  )) {
    const key = `${l.resource.resourceType}/${l.resource.id}`;
    const versions = resources.get(key) ?? [];
    resources.set(key, versions);
    versions.push({
      resource: l.resource,
      recordId: l.summary.recordId,
      supersedes: l.summary.supersedes,
      creator: l.summary.creator,
      txHash: l.summary.txHash,
    });
  }
  return { resources, failed };
}

function normalise(resource: Resource, summary: RecordSummary): Resource & { id: string } {
  const hex = summary.recordId.slice(2);
  const meta = resource.meta ?? {};
  return {
    ...resource,
    id: resource.id ?? hex,
    meta: {
      ...meta,
      versionId: meta.versionId ?? hex,
      lastUpdated: meta.lastUpdated ?? new Date(summary.anchoredAt * 1000).toISOString(),
    },
  } as Resource & { id: string };
}
