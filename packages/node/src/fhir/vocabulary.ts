/**
 * The few names the FHIR gateway adds to FHIR: tags marking tombstones and derived Provenance, identifier systems
 * for accounts and on-chain records, and the builders for those resources.
 */
import type { Provenance, Resource } from '@medplum/fhirtypes';

export const MEDBLOC_TAGS = 'https://medbloc.org/fhir/CodeSystem/tags';
export const ACCOUNT_SYSTEM = 'https://medbloc.org/fhir/NamingSystem/account';
export const RECORD_SYSTEM = 'https://medbloc.org/fhir/NamingSystem/record';
export const TX_EXTENSION = 'https://medbloc.org/fhir/StructureDefinition/anchor-transaction';
export const VERSION_EXTENSION = 'https://medbloc.org/fhir/StructureDefinition/target-version';

const hasTag = (r: Resource, code: string) =>
  r.meta?.tag?.some((t) => t.system === MEDBLOC_TAGS && t.code === code) ?? false;

/** A sealed delete: the resource's type, id and a new version, nothing else. */
export const isTombstone = (r: Resource) => hasTag(r, 'deleted');
/** A Provenance the gateway derives from an anchor; it is rebuilt on every load, never anchored itself. */
export const isDerived = (r: Resource) => hasTag(r, 'anchor-provenance');

export function tombstone(
  resourceType: string,
  id: string,
  versionId: string,
  lastUpdated: string,
): Resource {
  return {
    resourceType,
    id,
    meta: { versionId, lastUpdated, tag: [{ system: MEDBLOC_TAGS, code: 'deleted' }] },
  } as Resource;
}

export interface AnchorFacts {
  recordId: string;
  creator: string;
  txHash: string;
}

/** The id of the Provenance derived from a record: stable across restarts, within FHIR's 64 characters. */
export const provenanceIdOf = (recordId: string) => `mb${recordId.slice(2, 64)}`;

/**
 * Provenance for one anchored version: who wrote it (the creator's account) and which on-chain record holds it.
 * The target is the unversioned reference (so `Provenance?target=Type/id` finds it) with the version in an extension.
 */
export function provenanceFor(
  version: Resource,
  anchor: AnchorFacts,
  activity: 'CREATE' | 'UPDATE' | 'DELETE',
): Provenance & { id: string } {
  const recorded = version.meta?.lastUpdated ?? new Date().toISOString();
  return {
    resourceType: 'Provenance',
    id: provenanceIdOf(anchor.recordId),
    meta: {
      versionId: '1',
      lastUpdated: recorded,
      tag: [{ system: MEDBLOC_TAGS, code: 'anchor-provenance' }],
    },
    target: [
      {
        reference: `${version.resourceType}/${version.id}`,
        ...(version.meta?.versionId
          ? { extension: [{ url: VERSION_EXTENSION, valueId: version.meta.versionId }] }
          : {}),
      },
    ],
    recorded,
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: activity }],
    },
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'author',
            },
          ],
        },
        who: { identifier: { system: ACCOUNT_SYSTEM, value: anchor.creator }, display: anchor.creator },
      },
    ],
    entity: [
      {
        role: 'source',
        what: { identifier: { system: RECORD_SYSTEM, value: anchor.recordId } },
        extension: [{ url: TX_EXTENSION, valueString: anchor.txHash }],
      },
    ],
  };
}
