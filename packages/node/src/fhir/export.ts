/**
 * FHIR Bulk Data `$export` (Bulk Data Access IG, async request pattern) over what the gateway serves. A kick-off
 * pins the live repository as it is at that instant (writes replace it, never change it, so the pinned one is a
 * consistent snapshot), picks the matching resources in the background and publishes a manifest. The NDJSON files
 * are generated from that snapshot, in memory, while the client downloads them: nothing decrypted is written to disk.
 * Deleting a job (or its expiry) drops the snapshot.
 */
import { randomBytes } from 'node:crypto';
import { isResourceType } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { referencesOf } from './everything.ts';
import type { FhirHttpResponse } from './gateway.ts';
import { isDerived } from './vocabulary.ts';

/** What an export covers: every resource, every patient's compartment, or one patient's. */
export type ExportLevel = { kind: 'system' } | { kind: 'patients' } | { kind: 'patient'; id: string };

export interface ExportKickoff {
  level: ExportLevel;
  query: Record<string, string | string[]>;
  headers: Record<string, string | undefined>;
  /** The kick-off URL as the client sent it (echoed as `request` in the manifest). */
  requestUrl: string;
  baseUrl: string;
  /** The client the kick-off was authorised for (a SMART client id), if it came with a token. */
  owner?: string | undefined;
  /** Resource types the caller may read (all when undefined). */
  readable?: ((type: string) => boolean) | undefined;
}

export interface ExportJobsOptions {
  /** The repository as it is now: current resources, never mutated once returned. */
  snapshot(): { all(): Iterable<Resource> };
  /** Resources examined per turn of the event loop while a job runs (default 1000). */
  sliceSize?: number;
  /** How long a finished job and its files stay available (default one hour). */
  retentionMs?: number;
  log?: (msg: string) => void;
}

interface Job {
  id: string;
  owner: string | undefined;
  request: string;
  transactionTime: string;
  status: 'in-progress' | 'complete' | 'failed';
  progress: string;
  error?: string;
  /** type → picked resources, in the order they are written. */
  files: Map<string, Resource[]>;
  cancelled: boolean;
  timer?: NodeJS.Timeout;
}

const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const UNSUPPORTED = ['_typeFilter', '_elements', 'patient', 'includeAssociatedData', '_until'];
const NDJSON = 'application/fhir+ndjson';

/**
 * @example
 * const exports = createExportJobs({ snapshot: () => repo });
 * const res = exports.kickoff({ level: { kind: 'system' }, query, headers, requestUrl, baseUrl });
 * // 202, content-location: <base>/$export-status/<id>
 */
export function createExportJobs(opts: ExportJobsOptions) {
  const jobs = new Map<string, Job>();
  const slice = opts.sliceSize ?? 1000;
  const retention = opts.retentionMs ?? 60 * 60 * 1000;
  const log = opts.log ?? (() => {});

  function kickoff(k: ExportKickoff): FhirHttpResponse {
    if (!/respond-async/.test(k.headers.prefer ?? ''))
      return outcome(400, 'invalid', '$export runs asynchronously: send "Prefer: respond-async"');
    const accept = k.headers.accept;
    if (accept && !/application\/fhir\+json|\*\/\*|application\/json/.test(accept))
      return outcome(400, 'invalid', '$export answers in application/fhir+json; send that Accept header');
    const lenient = /handling=lenient/.test(k.headers.prefer ?? '');
    const unsupported = UNSUPPORTED.filter((p) => k.query[p] !== undefined);
    if (unsupported.length && !lenient)
      return outcome(400, 'not-supported', `$export does not support ${unsupported.join(', ')}`);
    const format = one(k.query._outputFormat);
    if (format !== undefined && !NDJSON_FORMATS.has(format))
      return outcome(400, 'not-supported', `_outputFormat "${format}" is not supported; use ${NDJSON}`);
    const types = listOf(k.query._type);
    const unknown = types.filter((t) => !isResourceType(t));
    if (unknown.length)
      return outcome(400, 'invalid', `_type names unknown resource types: ${unknown.join(', ')}`);
    const denied = k.readable ? types.filter((t) => !k.readable?.(t)) : [];
    if (denied.length)
      return outcome(403, 'forbidden', `the access token does not allow reading ${denied.join(', ')}`);
    const sinceText = one(k.query._since);
    const since = sinceText === undefined ? undefined : Date.parse(sinceText);
    if (sinceText !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(sinceText) || !Number.isFinite(since)))
      return outcome(
        400,
        'invalid',
        `_since must be a FHIR instant (e.g. 2024-01-01T00:00:00Z), not "${sinceText}"`,
      );

    const snapshot = opts.snapshot();
    const job: Job = {
      id: randomBytes(16).toString('hex'),
      owner: k.owner,
      request: k.requestUrl,
      transactionTime: new Date().toISOString(),
      status: 'in-progress',
      progress: 'selecting resources',
      files: new Map(),
      cancelled: false,
    };
    jobs.set(job.id, job);
    const wanted = (r: Resource) =>
      (types.length === 0 || types.includes(r.resourceType)) &&
      (!k.readable || k.readable(r.resourceType)) &&
      (since === undefined || Date.parse(r.meta?.lastUpdated ?? '') > since);
    run(job, snapshot, k.level, wanted).catch((err) => {
      job.status = 'failed';
      job.error = (err as Error).message;
      log(`fhir: $export ${job.id} failed: ${(err as Error).stack ?? err}`);
    });
    return {
      status: 202,
      headers: { 'content-location': `${k.baseUrl}/$export-status/${job.id}` },
    };
  }

  async function run(
    job: Job,
    snapshot: { all(): Iterable<Resource> },
    level: ExportLevel,
    wanted: (r: Resource) => boolean,
  ) {
    const all = [...snapshot.all()];
    const patients =
      level.kind === 'system'
        ? undefined
        : new Set(
            all
              .filter((r) => r.resourceType === 'Patient' && (level.kind === 'patients' || r.id === level.id))
              .map((r) => `Patient/${r.id}`),
          );
    let done = 0;
    for (const r of all) {
      if (job.cancelled) return;
      if (wanted(r) && (!patients || inCompartment(r, patients))) {
        const list = job.files.get(r.resourceType) ?? [];
        list.push(r);
        job.files.set(r.resourceType, list);
      }
      if (++done % slice === 0) {
        job.progress = `${Math.floor((done / all.length) * 100)}% of ${all.length} resources examined`;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    job.status = 'complete';
    job.progress = 'complete';
    job.timer = setTimeout(() => drop(job.id), retention);
    job.timer.unref();
  }

  function status(id: string, owner: string | undefined, baseUrl: string): FhirHttpResponse {
    const job = find(id, owner);
    if (!job)
      return outcome(404, 'not-found', `no export job ${id} (finished jobs are kept for a limited time)`);
    if (job.status === 'failed') return outcome(500, 'exception', `the export failed: ${job.error}`);
    if (job.status === 'in-progress')
      return { status: 202, headers: { 'x-progress': job.progress, 'retry-after': '1' } };
    const manifest = {
      transactionTime: job.transactionTime,
      request: job.request,
      requiresAccessToken: job.owner !== undefined,
      output: [...job.files.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, list]) => ({
          type,
          url: `${baseUrl}/$export-file/${job.id}/${type}.ndjson`,
          count: list.length,
        })),
      error: [],
    };
    return {
      status: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        expires: new Date(Date.now() + retention).toUTCString(),
      },
      text: JSON.stringify(manifest),
    };
  }

  function cancel(id: string, owner: string | undefined): FhirHttpResponse {
    const job = find(id, owner);
    if (!job) return outcome(404, 'not-found', `no export job ${id}`);
    drop(id);
    return outcome(
      202,
      'informational',
      `export job ${id} is cancelled and its files removed`,
      'information',
    );
  }

  function file(id: string, name: string, owner: string | undefined): FhirHttpResponse {
    const job = find(id, owner);
    const type = /^([A-Za-z]+)\.ndjson$/.exec(name)?.[1];
    const list = job?.status === 'complete' && type ? job.files.get(type) : undefined;
    if (!list) return outcome(404, 'not-found', `no export file ${id}/${name}`);
    return {
      status: 200,
      headers: { 'content-type': `${NDJSON}; charset=utf-8`, 'cache-control': 'no-store' },
      stream: lines(list),
    };
  }

  function find(id: string, owner: string | undefined): Job | undefined {
    const job = jobs.get(id);
    // A job kicked off with a token belongs to that client; an open one to the open (local) caller.
    return job && job.owner === owner ? job : undefined;
  }

  function drop(id: string) {
    const job = jobs.get(id);
    if (!job) return;
    job.cancelled = true;
    if (job.timer) clearTimeout(job.timer);
    job.files.clear();
    jobs.delete(id);
  }

  return {
    kickoff,
    status,
    cancel,
    file,
    /** Jobs currently held (in progress or finished and not yet expired). */
    size: () => jobs.size,
    stop() {
      for (const id of [...jobs.keys()]) drop(id);
    },
  };
}

export type ExportJobs = ReturnType<typeof createExportJobs>;

/**
 * A patient compartment member: the patient itself, or a resource that references one of them. As in $everything,
 * the Provenance derived from anchors is left to the system-level export.
 */
function inCompartment(r: Resource, patients: Set<string>): boolean {
  if (isDerived(r)) return false;
  if (r.resourceType === 'Patient') return patients.has(`Patient/${r.id}`);
  for (const ref of referencesOf(r)) if (patients.has(ref)) return true;
  return false;
}

/** NDJSON, a batch of lines at a time, generated as the consumer reads. */
async function* lines(list: Resource[]): AsyncIterable<string> {
  const batch = 64;
  for (let i = 0; i < list.length; i += batch)
    yield list
      .slice(i, i + batch)
      .map((r) => `${JSON.stringify(r)}\n`)
      .join('');
}

function outcome(
  status: number,
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  severity: OperationOutcomeIssue['severity'] = 'error',
): FhirHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/fhir+json; charset=utf-8' },
    body: { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] },
  };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function listOf(v: string | string[] | undefined): string[] {
  return [v ?? []]
    .flat()
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}
