/**
 * Loading records for display: list (metadata opened locally), then verify-and-open each record in the background
 * (anchor on chain, creator signature, key envelope, commitment, digest, AEAD — the SDK's getRecord). A record is
 * shown as data only once every check passed; a failed check marks it as failing verification, content withheld.
 */
import type { MedblocClient, ReadPurpose, RecordMeta, RecordSummary, Verification } from '@medbloc/sdk';
import { useCallback, useEffect, useRef, useState } from 'react';
import { clinicalDate, isObj, type Json, titleOf } from '../fhir/read.ts';
import { describeError, type FriendlyError, isTamper } from './errors.ts';

export type Listed = RecordSummary & { meta: RecordMeta | undefined };

export type RecordState =
  | { status: 'pending' }
  | { status: 'nokey' }
  | { status: 'verified'; verification: Verification; resource?: Json; bytes?: Uint8Array; meta?: RecordMeta }
  | { status: 'tampered'; error: FriendlyError }
  | { status: 'error'; error: FriendlyError };

export interface RecordItem {
  record: Listed;
  state: RecordState;
}

/** Display category of a record, from its verified resource or, before that, its sealed metadata. */
export function categoryOf(item: RecordItem): string {
  const r = item.state.status === 'verified' ? item.state.resource : undefined;
  const type = (r?.resourceType as string | undefined) ?? item.record.meta?.resourceType;
  if (item.record.meta?.kind === 'file') return 'Files';
  switch (type) {
    case 'Observation': {
      const cats = JSON.stringify(r?.category ?? '');
      if (cats.includes('vital-signs')) return 'Vitals';
      if (cats.includes('laboratory')) return 'Labs';
      return 'Observations';
    }
    case 'DiagnosticReport':
      return 'Reports';
    case 'Condition':
      return 'Conditions';
    case 'MedicationRequest':
    case 'MedicationStatement':
    case 'MedicationAdministration':
    case 'MedicationDispense':
      return 'Medications';
    case 'AllergyIntolerance':
      return 'Allergies';
    case 'Immunization':
      return 'Immunisations';
    case 'Encounter':
      return 'Visits';
    case 'ImagingStudy':
      return 'Imaging';
    case 'DocumentReference':
      return 'Documents';
    case 'Procedure':
      return 'Procedures';
    default:
      return 'Other';
  }
}

/** Milliseconds of the record's clinical date, else its metadata date, else when it was anchored. */
export function dateOf(item: RecordItem): number {
  const r = item.state.status === 'verified' ? item.state.resource : undefined;
  const iso = (r && clinicalDate(r)) ?? item.record.meta?.date;
  const t = iso ? Date.parse(iso) : Number.NaN;
  if (!Number.isNaN(t)) return t;
  const a = item.record.anchoredAt;
  return a < 1e12 ? a * 1000 : a;
}

export function titleOfItem(item: RecordItem): string {
  if (item.state.status === 'verified' && item.state.resource) return titleOf(item.state.resource);
  const m = item.record.meta;
  if (m?.kind === 'file') return m.name ?? 'File';
  return m?.resourceType ?? 'Record';
}

/** The latest version of each record, and for each its earlier versions, newest first. */
export function versionsOf(all: RecordItem[]): { latest: RecordItem[]; history: Map<string, RecordItem[]> } {
  const byId = new Map(all.map((i) => [i.record.recordId.toLowerCase(), i]));
  const replaced = new Set<string>();
  for (const i of all) {
    const prev = i.record.supersedes.toLowerCase();
    if (byId.has(prev)) replaced.add(prev);
    const next = i.record.supersededBy?.toLowerCase();
    if (next && byId.has(next)) replaced.add(i.record.recordId.toLowerCase());
  }
  const latest = all.filter((i) => !replaced.has(i.record.recordId.toLowerCase()));
  const history = new Map<string, RecordItem[]>();
  for (const i of latest) {
    const chain: RecordItem[] = [];
    const seen = new Set<string>([i.record.recordId.toLowerCase()]);
    for (
      let p = byId.get(i.record.supersedes.toLowerCase());
      p;
      p = byId.get(p.record.supersedes.toLowerCase())
    ) {
      if (seen.has(p.record.recordId.toLowerCase())) break;
      seen.add(p.record.recordId.toLowerCase());
      chain.push(p);
    }
    if (chain.length) history.set(i.record.recordId, chain);
  }
  return { latest, history };
}

/** Records verified at once: a browser opens six connections to an origin (the node's, and the chain's). */
const CONCURRENCY = 6;
const PUBLISH_MS = 32;

/**
 * Lists the records of `owner` and verifies each; `reload` lists again (already verified ones are kept). Reads of
 * another owner's records are for `purpose` (care by default; research for a researcher).
 */
export function useRecords(client: MedblocClient, owner?: `0x${string}`, purpose?: ReadPurpose) {
  const [items, setItems] = useState<RecordItem[] | undefined>();
  const [error, setError] = useState<FriendlyError | undefined>();
  const [loading, setLoading] = useState(false);
  const states = useRef(new Map<string, RecordState>());
  const generation = useRef(0);

  const publish = useCallback((records: Listed[]) => {
    setItems(
      records.map((record) => ({
        record,
        state: states.current.get(record.recordId) ?? { status: 'pending' },
      })),
    );
  }, []);

  // Verifications finish one by one; the timeline is redrawn at most every PUBLISH_MS with all that finished since,
  // not once per record (each redraw sorts and groups every record). A reload drops a redraw still to come.
  const publishTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const toPublish = useRef<Listed[] | undefined>(undefined);
  const publishSoon = useCallback(
    (records: Listed[]) => {
      toPublish.current = records;
      publishTimer.current ??= setTimeout(() => {
        publishTimer.current = undefined;
        const latest = toPublish.current;
        toPublish.current = undefined;
        if (latest) publish(latest);
      }, PUBLISH_MS);
    },
    [publish],
  );
  const dropPublish = useCallback(() => {
    clearTimeout(publishTimer.current);
    publishTimer.current = undefined;
    toPublish.current = undefined;
  }, []);

  const reload = useCallback(async () => {
    const gen = ++generation.current;
    dropPublish();
    // Every refresh checks every record again: what verified before may have been altered since.
    states.current = new Map();
    setLoading(true);
    setError(undefined);
    let records: Listed[];
    try {
      records = (await client.listRecords({
        ...(owner ? { owner } : {}),
        ...(purpose ? { purpose } : {}),
      })) as Listed[];
    } catch (err) {
      setError(describeError(err));
      setLoading(false);
      return;
    }
    if (gen !== generation.current) return;
    for (const r of records)
      if (!r.meta && !states.current.has(r.recordId)) states.current.set(r.recordId, { status: 'nokey' });
    publish(records);
    setLoading(false);
    // Verify in the order the timeline shows (newest clinical date first), so the first page settles first.
    const shownAt = (r: Listed) => {
      const t = r.meta?.date ? Date.parse(r.meta.date) : Number.NaN;
      return Number.isNaN(t) ? r.anchoredAt * 1000 : t;
    };
    const queue = records
      .filter((r) => {
        const s = states.current.get(r.recordId);
        return !s || s.status === 'pending' || s.status === 'error';
      })
      .sort((a, b) => shownAt(b) - shownAt(a));
    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        if (gen !== generation.current) return;
        const state = await verifyAndOpen(client, r, purpose);
        if (gen !== generation.current) return;
        states.current.set(r.recordId, state);
        publishSoon(records);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }, [client, owner, purpose, publish, publishSoon, dropPublish]);

  useEffect(() => {
    void reload();
    return () => {
      generation.current++;
      dropPublish();
    };
  }, [reload, dropPublish]);

  return { items, error, loading, reload };
}

async function verifyAndOpen(client: MedblocClient, r: Listed, purpose?: ReadPurpose): Promise<RecordState> {
  try {
    const got = await client.getRecord(r.recordId, purpose ? { purpose } : {});
    const state: RecordState = { status: 'verified', verification: got.verification };
    if (got.meta) state.meta = got.meta;
    if (got.resource && isObj(got.resource)) state.resource = got.resource;
    else state.bytes = got.bytes;
    return state;
  } catch (err) {
    const error = describeError(err);
    const code = (err as { code?: string }).code;
    if (code === 'ENVELOPE_NOT_FOUND' || code === 'FORBIDDEN' || code === 'GRANT_NOT_FOUND')
      return { status: 'nokey' };
    if (isTamper(err)) return { status: 'tampered', error };
    // A stream cut short mid-record (the node found its copy corrupt while sending) is a failed check too.
    if (err instanceof TypeError && /network|body|stream|terminated/i.test(err.message))
      return {
        status: 'tampered',
        error: {
          ...describeError(err),
          kind: 'tampered',
          title: 'This record failed verification',
          detail: 'The node could not deliver an intact copy of it, so its content is not shown.',
        },
      };
    return { status: 'error', error };
  }
}
