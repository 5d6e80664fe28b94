/**
 * The FHIR R4 gateway for one identity whose keys this process holds. Reads are served from an in-memory Medplum
 * repository loaded from the identity's own (decrypted, verified) records; writes run through Medplum's router
 * against a fork of that repository, are validated, sealed and anchored through the SDK, and only then become the
 * live repository. Transport-agnostic: `handle` maps a plain request to status, headers and a resource; the Hono
 * sub-app in http.ts only serialises.
 */
import { randomUUID } from 'node:crypto';
import { loadFhirDefinitions, validateFhirResource } from '@medbloc/core';
import type { MedblocClient, RecordSummary } from '@medbloc/sdk';
import {
  allOk,
  badRequest,
  created,
  forbidden,
  getStatus,
  isResourceType,
  normalizeOperationOutcome,
  OperationOutcomeError,
} from '@medplum/core';
import { type FhirRequest, FhirRouter, type HttpMethod } from '@medplum/fhir-router';
import type {
  Bundle,
  BundleEntry,
  BundleLink,
  OperationOutcome,
  OperationOutcomeIssue,
  Resource,
} from '@medplum/fhirtypes';
import { capabilityStatement } from './capability.ts';
import { resolveConditionalReferences } from './conditional.ts';
import {
  auditEventOf,
  consentOf,
  isView,
  searchViews,
  VIEW_SEARCH_PARAMS,
  type ViewContext,
  type ViewResource,
} from './consent-views.ts';
import { CONVERT_CONTENT_TYPES, convertFormatOf, convertToTransaction } from './convert.ts';
import { everything } from './everything.ts';
import { createExportJobs, type ExportLevel } from './export.ts';
import { loadLedger } from './ledger.ts';
import { type Change, historyEntries, LedgerRepository } from './repository.ts';
import {
  createSmartAuth,
  type ScopeAction,
  type SmartAccess,
  type SmartOptions,
  unauthorized,
} from './smart.ts';
import { isDerived, isTombstone, provenanceFor, tombstone } from './vocabulary.ts';
import { FHIR_XML, isXmlContentType, negotiateFormat, readXmlBody, writeXml } from './xml.ts';

type Hex = `0x${string}`;

export interface FhirGatewayOptions {
  /** SDK client of the identity the gateway acts for (its keys decrypt what is served and sign what is written). */
  client: MedblocClient;
  log?: (msg: string) => void;
  /** Records fetched in parallel while loading (default 8). */
  loadConcurrency?: number;
  /** Bulk `$export` tuning: resources examined per event-loop turn, how long finished jobs are kept. */
  export?: { sliceSize?: number; retentionMs?: number };
  /** SMART App Launch (authorization code + PKCE): apps get scoped tokens backed by on-chain consent (smart.ts). */
  smart?: SmartOptions;
}

/** A FHIR request, independent of any HTTP library. */
export interface FhirHttpRequest {
  method: string;
  /** Path below the FHIR base, without a leading slash: `Observation/123/_history/2`, `metadata`, `` for the base. */
  path: string;
  /** Query parameters; repeated ones as arrays. */
  query: Record<string, string | string[]>;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** The raw request body, if any. */
  body?: string;
  /** Absolute URL of the FHIR base, e.g. `http://127.0.0.1:7400/fhir` (for fullUrl, Location and links). */
  baseUrl: string;
}

export interface FhirHttpResponse {
  status: number;
  headers: Record<string, string>;
  body?: Resource;
  /** The body already serialised (FHIR XML, a manifest); sent as is with `headers['content-type']`. */
  text?: string;
  /** A body produced piece by piece (NDJSON export files); sent as it is generated. */
  stream?: AsyncIterable<string>;
}

export interface FhirGatewayCore {
  /** Resolves once the identity's records are loaded (rejects if the ledger cannot be read). */
  ready: Promise<void>;
  handle(req: FhirHttpRequest): Promise<FhirHttpResponse>;
  /** Resource counts per type currently served (derived Provenance included). */
  counts(): Record<string, number>;
  /** Records that could not be read or verified at load. */
  failed(): { recordId: string; reason: string }[];
  stop(): Promise<void>;
}

const READ_METHODS = new Set(['GET', 'HEAD']);
const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json'];
const OWNER_HEADER = 'x-medbloc-owner';

/**
 * Creates the transport-agnostic gateway core. Most callers want {@link createFhirGateway} (adds the Hono app).
 *
 * @example
 * const core = createFhirGatewayCore({ client });
 * await core.ready;
 * const res = await core.handle({ method: 'GET', path: 'Patient', query: {}, headers: {}, baseUrl });
 */
export function createFhirGatewayCore(opts: FhirGatewayOptions): FhirGatewayCore {
  const { client } = opts;
  const log = opts.log ?? (() => {});
  const router = new FhirRouter();
  let repo = new LedgerRepository();
  /** `Type/id/versionId` → the record holding that version; `Type/id` → the record of its latest version. */
  const recordOfVersion = new Map<string, Hex>();
  const head = new Map<string, Hex>();
  let failures: { recordId: string; reason: string }[] = [];
  let writeLock: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const exports = createExportJobs({ snapshot: () => repo, log, ...opts.export });
  const smart = opts.smart
    ? createSmartAuth({
        ...opts.smart,
        client,
        log,
        patients: () =>
          [...repo.all()].filter((r) => r.resourceType === 'Patient').map((r) => r.id as string),
      })
    : undefined;

  const ready = (async () => {
    loadFhirDefinitions();
    const loaded = await loadLedger(client, { concurrency: opts.loadConcurrency ?? 8 });
    const fresh = new LedgerRepository();
    for (const [key, versions] of loaded.resources) {
      const [type, id] = key.split('/') as [string, string];
      fresh.seed(
        type,
        id,
        versions.map((v) => v.resource),
      );
      versions.forEach((v, i) => {
        recordOfVersion.set(`${key}/${v.resource.meta?.versionId}`, v.recordId);
        fresh.put(provenanceFor(v.resource, v, activityOf(v.resource, i)));
      });
      head.set(key, (versions[versions.length - 1] as { recordId: Hex }).recordId);
    }
    repo = fresh;
    failures = loaded.failed;
    for (const f of failures) log(`fhir: record ${f.recordId} skipped: ${f.reason}`);
    log(`fhir: loaded ${loaded.resources.size} resources for ${client.address}`);
  })();
  ready.catch((err) => log(`fhir: loading failed: ${(err as Error).message}`));

  function serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = writeLock.then(fn, fn);
    writeLock = run.catch(() => undefined);
    return run;
  }

  async function handle(req: FhirHttpRequest): Promise<FhirHttpResponse> {
    // Browser apps (SMART's usual public clients) need CORS; it is offered only when every request must carry a
    // token, since without one the gateway acts for its identity and any web page could read the record.
    if (!smart?.requireToken || !req.headers.origin) return handleFhir(req);
    if (req.method.toUpperCase() === 'OPTIONS') return { status: 204, headers: CORS_PREFLIGHT };
    const res = await handleFhir(req);
    return { ...res, headers: { ...res.headers, ...CORS } };
  }

  async function handleFhir(req: FhirHttpRequest): Promise<FhirHttpResponse> {
    let access: SmartAccess | undefined;
    if (smart) {
      try {
        await ready;
        const answered = await smart.handle(req);
        if (answered) return answered;
        const authorization = req.headers.authorization;
        if (authorization) {
          const r = await smart.authenticate(authorization);
          if ('error' in r) return unauthorized(r.error);
          access = r.access;
        } else if (smart.requireToken && req.path !== 'metadata')
          return unauthorized('a bearer access token is required (see .well-known/smart-configuration)');
      } catch (err) {
        log(`fhir: ${req.method} ${req.path}: ${(err as Error).stack ?? err}`);
        return respond(502, sdkOutcome(err) ?? normalizeOperationOutcome(err));
      }
    }
    const negotiated = negotiateFormat(firstOf(req.query._format), req.headers.accept);
    if ('error' in negotiated) return fail(406, 'not-supported', negotiated.error);
    const res = await handleJson(req, access);
    return negotiated.format === 'xml' ? asXml(res) : res;
  }

  /** Serialises a JSON answer as FHIR XML; a resource the converter cannot write becomes an XML OperationOutcome. */
  function asXml(res: FhirHttpResponse): FhirHttpResponse {
    if (!res.body || res.text !== undefined || res.stream) return res;
    const headers = { ...res.headers, 'content-type': `${FHIR_XML}; charset=utf-8` };
    try {
      return { status: res.status, headers, text: writeXml(res.body) };
    } catch (err) {
      log(`fhir: cannot write ${res.body.resourceType} as XML: ${(err as Error).message}`);
      const outcome = fail(500, 'exception', `cannot write this answer as XML: ${(err as Error).message}`);
      return { status: 500, headers, text: writeXml(outcome.body as Resource) };
    }
  }

  async function handleJson(
    req: FhirHttpRequest,
    access: SmartAccess | undefined,
  ): Promise<FhirHttpResponse> {
    try {
      if (stopped) return fail(503, 'transient', 'the FHIR gateway is stopped');
      try {
        await ready;
      } catch (err) {
        return fail(
          503,
          'transient',
          `the FHIR gateway could not load its records: ${(err as Error).message}`,
        );
      }
      return await route(req, access);
    } catch (err) {
      const outcome = normalizeOperationOutcome(err);
      const status = statusOfError(err, outcome);
      if (status >= 500) log(`fhir: ${req.method} ${req.path}: ${(err as Error).stack ?? err}`);
      return respond(status, sdkOutcome(err) ?? outcome);
    }
  }

  async function route(req: FhirHttpRequest, access: SmartAccess | undefined): Promise<FhirHttpResponse> {
    const method = req.method.toUpperCase();
    const query = { ...req.query };
    delete query._format;
    delete query._pretty;
    const segments = req.path.split('/').filter(Boolean);
    const [type, id, third, vid] = segments;

    if (method === 'GET' && req.path === 'metadata')
      return respond(200, capabilityStatement(req.baseUrl, { smart: !!smart }));
    const refusal = access && refused(access, method, segments);
    if (refusal) return fail(403, 'forbidden', refusal);
    const bulk = bulkExport(method, segments, req, query, access);
    if (bulk) return bulk;
    if (type === '$convert' && segments.length === 1) return convertOperation(method, req, query);
    if (type && !type.startsWith('$') && !type.startsWith('_') && !isResourceType(type))
      return fail(404, 'not-supported', `unknown resource type "${type}"`);
    if (method === 'GET' && type && id === '_history' && segments.length === 2)
      return typeHistory(type, query, req.baseUrl);
    if (method === 'GET' && type === 'Patient' && id && third === '$everything' && segments.length === 3)
      return patientEverything(id, req.baseUrl, access);
    if (type?.startsWith('_') && type !== '_search')
      return fail(404, 'not-supported', `"${type}" is not supported`);
    if (isView(type)) return view(method, type, id, segments.length, query, req.baseUrl);

    let body: unknown;
    if (req.body !== undefined && req.body !== '' && !READ_METHODS.has(method)) {
      const contentType = (req.headers['content-type'] ?? 'application/fhir+json').split(';')[0]!.trim();
      const xml = isXmlContentType(contentType);
      if (!JSON_TYPES.includes(contentType) && !xml && contentType !== 'application/x-www-form-urlencoded')
        return fail(
          415,
          'not-supported',
          `unsupported content type "${contentType}"; send application/fhir+json or application/fhir+xml`,
        );
      if (contentType === 'application/x-www-form-urlencoded') {
        for (const [k, v] of new URLSearchParams(req.body)) query[k] = v;
      } else if (xml) {
        try {
          body = readXmlBody(req.body);
        } catch (err) {
          return fail(400, 'structure', `the request body is not valid FHIR XML: ${(err as Error).message}`);
        }
      } else {
        try {
          body = JSON.parse(req.body);
        } catch (err) {
          return fail(400, 'structure', `the request body is not valid JSON: ${(err as Error).message}`);
        }
      }
    }
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const x of [v].flat()) search.append(k, x);
    const qs = search.toString();
    const fhirReq: FhirRequest = {
      method: method as HttpMethod,
      url: `${req.path}${qs ? `?${qs}` : ''}`,
      pathname: '',
      params: {},
      query,
      headers: req.headers as NonNullable<FhirRequest['headers']>,
      body,
    };

    const isSearch = method === 'GET' && (!id || id === '_search');
    const isPostSearch = method === 'POST' && id === '_search';
    if (READ_METHODS.has(method) || isPostSearch) {
      const [outcome, resource] = await router.handleRequest(fhirReq, repo);
      const status = getStatus(outcome);
      if (status >= 400 || !resource) return respond(status, outcome);
      if (isSearch || isPostSearch)
        return respond(200, readableOnly(shapeSearch(resource as Bundle, req, query), access));
      const r = resource as Resource;
      const etag = `W/"${r.meta?.versionId}"`;
      if (req.headers['if-none-match'] === etag && !vid) return { status: 304, headers: { etag } };
      return respond(200, r, versionHeaders(r, req.baseUrl, false));
    }

    const owner = req.headers[OWNER_HEADER];
    if (access && owner !== undefined)
      return fail(403, 'forbidden', `an app's access token cannot write for another owner (${OWNER_HEADER})`);
    const entryRefusal = access && !type && refusedEntries(access, body);
    if (entryRefusal) return fail(403, 'forbidden', entryRefusal);
    if (owner !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(owner))
      return fail(400, 'value', `${OWNER_HEADER} must be an address`);
    if (owner && owner.toLowerCase() !== client.address.toLowerCase()) {
      // Writing for someone else: this identity cannot read their records, so it can only add new ones.
      const entries =
        (body as Bundle | undefined)?.resourceType === 'Bundle' && !type ? (body as Bundle).entry : [];
      if (method !== 'POST' || entries?.some((e) => e.request?.method && e.request.method !== 'POST'))
        return fail(
          400,
          'not-supported',
          `only creates (POST) can be written for another owner (${OWNER_HEADER})`,
        );
    }
    const invalid = precheck(method, body, type);
    if (invalid) return respond(400, invalid);
    const written = await write(fhirReq, owner);
    if ('status' in written) return respond(written.status, written.outcome);
    const shaped = shapeWrite(written, method, req);
    const answer = shaped.body as Bundle | undefined;
    if (access && answer?.resourceType === 'Bundle')
      // Searches inside a batch answer only what the token may read, as top-level searches do.
      for (const e of answer.entry ?? [])
        if (e.resource?.resourceType === 'Bundle') e.resource = readableOnly(e.resource as Bundle, access);
    return shaped;
  }

  /** `POST $convert`: HL7 v2, C-CDA or VCF in, a validated transaction Bundle out; nothing is stored. */
  async function convertOperation(
    method: string,
    req: FhirHttpRequest,
    query: Record<string, string | string[]>,
  ): Promise<FhirHttpResponse> {
    if (method !== 'POST')
      return fail(405, 'not-supported', '$convert takes the document to convert with POST');
    const body = req.body ?? '';
    const contentType = req.headers['content-type'] ?? '';
    const format = convertFormatOf(contentType, body);
    if (!format)
      return fail(
        415,
        'not-supported',
        `$convert reads HL7 v2, C-CDA or VCF; send one of ${CONVERT_CONTENT_TYPES.join(', ')} (got "${contentType}")`,
      );
    if (!body.trim()) return fail(400, 'required', '$convert needs a document in the request body');
    const patient = typeof query.patient === 'string' ? query.patient : undefined;
    const out = await convertToTransaction(format, body, patient ? { patient } : {});
    if (!out.ok) return respond(out.status, { resourceType: 'OperationOutcome', issue: out.issues });
    // Converter warnings travel as HTTP Warning headers (199: miscellaneous), one per warning.
    const headers = out.warnings.length
      ? { warning: out.warnings.map((w) => `199 - ${JSON.stringify(w.replace(/[\r\n]+/g, ' '))}`).join(', ') }
      : {};
    return respond(200, out.bundle, headers);
  }

  /** Whether a write request patches anything (itself, or an entry of its Bundle). */
  function patches(fhirReq: FhirRequest): boolean {
    if (fhirReq.method === 'PATCH') return true;
    const b = fhirReq.body as Bundle | undefined;
    return b?.resourceType === 'Bundle' && (b.entry ?? []).some((e) => e.request?.method === 'PATCH');
  }

  /** Validates what a client sends before anything runs: a resource body, or every resource in a Bundle. */
  function precheck(method: string, body: unknown, type: string | undefined): OperationOutcome | undefined {
    if (method === 'DELETE' || method === 'PATCH') return undefined;
    if (body === undefined) return badRequest('a request body is required');
    const issues: OperationOutcomeIssue[] = [];
    const check = (resource: unknown, where: string) => {
      const v = validateFhirResource(resource);
      if (!v.ok)
        for (const issue of v.outcome.issue ?? [])
          issues.push({
            ...issue,
            ...(where ? { expression: (issue.expression ?? [where]).map((e) => `${where}.${e}`) } : {}),
          });
    };
    const b = body as Bundle;
    if (!type && b?.resourceType === 'Bundle') {
      (b.entry ?? []).forEach((e, i) => {
        const m = e.request?.method;
        if (e.resource && (m === 'POST' || m === 'PUT')) check(e.resource, `Bundle.entry[${i}].resource`);
      });
    } else check(body, '');
    return issues.length ? { resourceType: 'OperationOutcome', issue: issues } : undefined;
  }

  interface Written {
    response: Resource | undefined;
    created: boolean;
    changes: { change: Change; version: Resource }[];
    kept: boolean;
  }

  /** Runs a write against a fork, seals and anchors what changed, then makes the fork live. */
  function write(
    fhirReq: FhirRequest,
    ownerHeader: string | undefined,
  ): Promise<Written | { outcome: OperationOutcome; status: number }> {
    return serialised(async () => {
      const base = repo;
      const stage = base.fork();
      await resolveConditionalReferences(fhirReq.body, stage);
      const [outcome, response] = await router.handleRequest(fhirReq, stage);
      const status = getStatus(outcome);
      if (status >= 400) return { outcome, status };
      const changes = base.diff(stage);
      if (changes.some((c) => (c.before && isDerived(c.before)) || (c.after && isDerived(c.after))))
        return { outcome: forbiddenOutcome('Provenance derived from anchors is read-only'), status: 403 };
      // Every resource body a client sent was validated before the router ran (precheck); the router only assigns
      // ids and meta and resolves references. What a PATCH produces was never seen whole, so it is validated here.
      const issues: OperationOutcomeIssue[] = [];
      if (patches(fhirReq))
        for (const c of changes) {
          if (!c.after) continue;
          const v = validateFhirResource(c.after);
          if (!v.ok) issues.push(...(v.outcome.issue ?? []));
        }
      if (issues.length) return { outcome: { resourceType: 'OperationOutcome', issue: issues }, status: 400 };

      const me = client.address.toLowerCase();
      const owner = ownerHeader && ownerHeader.toLowerCase() !== me ? (ownerHeader as Hex) : undefined;
      if (owner && changes.some((c) => c.before))
        return {
          outcome: badRequest(`only creates can be written for another owner (${OWNER_HEADER})`),
          status: 400,
        };
      const now = new Date().toISOString();
      const versions = changes.map((change) => ({
        change,
        version: change.after ?? tombstone(change.resourceType, change.id, randomUUID(), now),
      }));
      if (versions.length === 0) return { response, created: false, changes: [], kept: true };

      // A long router run (a large batch of conditional creates) can outlast the node's keep-alive timeout; let
      // the event loop see those closed sockets before the SDK reuses one.
      await new Promise((resolve) => setTimeout(resolve, 10));
      const anchored = await seal(versions, owner);
      if (owner) return { response, created: status === 201, changes: versions, kept: false };

      stage.settle(base, versions);
      versions.forEach(({ change, version }, i) => {
        const key = `${change.resourceType}/${change.id}`;
        const a = anchored[i] as { recordId: Hex; txHash: Hex };
        recordOfVersion.set(`${key}/${version.meta?.versionId}`, a.recordId);
        head.set(key, a.recordId);
        stage.put(
          provenanceFor(
            version,
            { recordId: a.recordId, txHash: a.txHash, creator: client.address },
            isTombstone(version) ? 'DELETE' : change.before ? 'UPDATE' : 'CREATE',
          ),
        );
      });
      repo = stage;
      const wasCreate = changes.length === 1 && !changes[0]?.before && !!changes[0]?.after;
      return { response, created: wasCreate, changes: versions, kept: true };
    });
  }

  /** Anchors the versions: one record, or one batch (one chain transaction) for many. */
  async function seal(
    versions: { change: Change; version: Resource }[],
    owner: Hex | undefined,
  ): Promise<{ recordId: Hex; txHash: Hex }[]> {
    const items = versions.map(({ change, version }) => {
      const previous = owner ? undefined : head.get(`${change.resourceType}/${change.id}`);
      return {
        resource: version as unknown as Record<string, unknown>,
        meta: { resourceType: change.resourceType, resourceId: change.id },
        ...(previous ? { supersedes: previous } : {}),
      };
    });
    if (items.length === 1) {
      const one = items[0] as (typeof items)[number];
      const rec: RecordSummary = await client.addRecord({ ...one, ...(owner ? { owner } : {}) });
      return [{ recordId: rec.recordId, txHash: rec.txHash }];
    }
    const out = await client.addRecords(items, owner ? { owner } : {});
    return out.recordIds.map((recordId) => ({ recordId, txHash: out.txHash }));
  }

  function shapeWrite(w: Written, method: string, req: FhirHttpRequest): FhirHttpResponse {
    const prefer = /return=(minimal|representation|OperationOutcome)/.exec(req.headers.prefer ?? '')?.[1];
    const r = w.response;
    if (r?.resourceType === 'Bundle' && ((r as Bundle).type ?? '').endsWith('-response')) {
      const bundle = r as Bundle;
      for (const e of bundle.entry ?? []) {
        const res = e.resource;
        if (res?.id && res.meta?.versionId && e.response) {
          e.response.location = `${res.resourceType}/${res.id}/_history/${res.meta.versionId}`;
          e.response.etag = `W/"${res.meta.versionId}"`;
          if (res.meta.lastUpdated) e.response.lastModified = res.meta.lastUpdated;
        }
        if (res) e.fullUrl = `${req.baseUrl}/${res.resourceType}/${res.id}`;
      }
      return respond(200, bundle);
    }
    if (method === 'DELETE') return respond(200, allOk);
    const status = w.created ? 201 : 200;
    const headers = r ? versionHeaders(r, req.baseUrl, true) : {};
    if (prefer === 'minimal') return { status, headers };
    if (prefer === 'OperationOutcome') return respond(status, w.created ? created : allOk, headers);
    return respond(status, r ?? allOk, headers);
  }

  function typeHistory(
    type: string,
    query: Record<string, string | string[]>,
    baseUrl: string,
  ): FhirHttpResponse {
    const since = firstOf(query._since);
    const count = Number(firstOf(query._count) ?? 0) || undefined;
    const byId = new Map<string, Resource[]>();
    for (const v of repo.typeHistory(type)) {
      const list = byId.get(v.id as string) ?? [];
      list.unshift(v);
      byId.set(v.id as string, list);
    }
    let entries: BundleEntry[] = [];
    for (const versions of byId.values()) {
      versions.sort((a, b) => (a.meta?.lastUpdated ?? '').localeCompare(b.meta?.lastUpdated ?? ''));
      entries.push(...historyEntries(versions));
    }
    entries.sort((a, b) => (b.response?.lastModified ?? '').localeCompare(a.response?.lastModified ?? ''));
    if (since) entries = entries.filter((e) => (e.response?.lastModified ?? '') >= since);
    const total = entries.length;
    if (count) entries = entries.slice(0, count);
    for (const e of entries) {
      const url = e.request?.url ?? '';
      const [t, i] = url.includes('/') ? url.split('/') : [e.resource?.resourceType, e.resource?.id];
      e.fullUrl = `${baseUrl}/${t}/${i}`;
    }
    return respond(200, { resourceType: 'Bundle', type: 'history', total, entry: entries });
  }

  /** Consent and AuditEvent: read-only views of the identity's grants and access log (see consent-views.ts). */
  async function view(
    method: string,
    type: 'Consent' | 'AuditEvent',
    id: string | undefined,
    depth: number,
    query: Record<string, string | string[]>,
    baseUrl: string,
  ): Promise<FhirHttpResponse> {
    const search = method === 'GET' && (!id || (id === '_search' && depth === 2));
    const postSearch = method === 'POST' && id === '_search' && depth === 2;
    if (!READ_METHODS.has(method) && !postSearch)
      return fail(
        405,
        'not-supported',
        `${type} is a read-only view of the chain; change consent through the API`,
      );
    if (!search && !postSearch && depth > 2)
      return fail(404, 'not-supported', `${type} views have no history or operations`);
    const unknown = Object.keys(query).filter((k) => !VIEW_SEARCH_PARAMS.has(k));
    if (unknown.length)
      return fail(400, 'not-supported', `unsupported search parameter(s): ${unknown.join(', ')}`);
    const current = repo;
    const byRecord = new Map<string, string>();
    for (const [key, recordId] of recordOfVersion) {
      const [t, i] = key.split('/');
      byRecord.set(recordId.toLowerCase(), `${t}/${i}`);
    }
    const ctx: ViewContext = {
      self: client.address as Hex,
      referenceOf: (recordId) => byRecord.get(recordId.toLowerCase()),
      patientIds: () =>
        [...current.all()].filter((r) => r.resourceType === 'Patient').map((r) => r.id as string),
    };
    let resources: ViewResource[];
    if (type === 'Consent') {
      const [made, received] = await Promise.all([client.grants(), client.grants({ as: 'grantee' })]);
      resources = [...made, ...received].map((g) => consentOf(g, ctx));
    } else {
      resources = (await client.auditLog()).entries.map((e) => auditEventOf(e, ctx));
    }
    if (search || postSearch) return respond(200, searchViews(resources, query, ctx, baseUrl));
    const found = resources.find((r) => r.id === id);
    return found ? respond(200, found) : fail(404, 'not-found', `${type}/${id} is not known`);
  }

  /** `$export` kick-offs, their status URLs and their NDJSON files; undefined when the path is none of them. */
  function bulkExport(
    method: string,
    segments: string[],
    req: FhirHttpRequest,
    query: Record<string, string | string[]>,
    access: SmartAccess | undefined,
  ): FhirHttpResponse | undefined {
    const [first, second, third] = segments;
    const owner = access?.clientId;
    if (first === '$export-status' && second && segments.length === 2) {
      if (method === 'DELETE') return exports.cancel(second, owner);
      if (method === 'GET') return exports.status(second, owner, req.baseUrl);
      return fail(405, 'not-supported', 'poll an export status with GET, cancel it with DELETE');
    }
    if (first === '$export-file' && second && third && segments.length === 3)
      return method === 'GET'
        ? exports.file(second, third, owner)
        : fail(405, 'not-supported', 'export files are read with GET');
    const level: ExportLevel | undefined =
      first === '$export' && segments.length === 1
        ? { kind: 'system' }
        : first === 'Patient' && second === '$export' && segments.length === 2
          ? { kind: 'patients' }
          : first === 'Patient' && second && third === '$export' && segments.length === 3
            ? { kind: 'patient', id: second }
            : undefined;
    if (!level) return undefined;
    if (method !== 'GET') return fail(405, 'not-supported', '$export is kicked off with GET');
    if (level.kind === 'patient' && !repo.peek('Patient', level.id))
      return fail(404, 'not-found', `Patient/${level.id} is not known`);
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) for (const x of [v].flat()) qs.append(k, x);
    return exports.kickoff({
      level,
      query,
      headers: req.headers,
      requestUrl: `${req.baseUrl}/${req.path}${qs.size ? `?${qs}` : ''}`,
      baseUrl: req.baseUrl,
      owner,
      readable: access && ((t: string) => access.allows(t, 'r')),
    });
  }

  async function patientEverything(
    id: string,
    baseUrl: string,
    access: SmartAccess | undefined,
  ): Promise<FhirHttpResponse> {
    const patient = (await repo.readResource('Patient', id)) as Resource & { id: string };
    const current = repo;
    const all = everything(
      patient,
      current.all(),
      (ref) => {
        const [t, i] = ref.split('/');
        return t && i ? current.peek(t, i) : undefined;
      },
      (r) => `${baseUrl}/${r.resourceType}/${r.id}`,
    );
    // With an app's token, only the types it may read, and `total` counts what is left.
    const entry = (all.entry ?? []).filter(
      (e) => !access || access.allows(e.resource?.resourceType ?? '', 'r'),
    );
    return respond(200, { ...all, total: entry.length, entry });
  }

  return {
    ready,
    handle,
    counts: () => repo.countByType(),
    failed: () => [...failures],
    async stop() {
      stopped = true;
      exports.stop();
      await writeLock;
    },
  };
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'content-location, location, etag, last-modified, x-progress, retry-after, www-authenticate',
};
const CORS_PREFLIGHT = {
  ...CORS,
  'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
  'access-control-allow-headers': 'authorization, content-type, accept, prefer, if-match, if-none-match',
  'access-control-max-age': '600',
};

/** Why an app's token does not allow this request (by resource type and interaction), or undefined. */
function refused(access: SmartAccess, method: string, segments: string[]): string | undefined {
  const [type, id, third] = segments;
  // The base (system search, filtered; transactions, checked entry by entry) and $export (by type) check later.
  if (!type || type === '_search' || type.startsWith('$') || id === '$export' || third === '$export')
    return undefined;
  const action: ScopeAction =
    third === '$everything'
      ? 'r'
      : READ_METHODS.has(method)
        ? id && id !== '_search'
          ? 'r'
          : 's'
        : method === 'POST'
          ? id === '_search'
            ? 's'
            : 'c'
          : method === 'DELETE'
            ? 'd'
            : 'u';
  return access.allows(type, action) ? undefined : `the access token does not allow ${VERB[action]} ${type}`;
}

/** Why a transaction or batch holds an entry the token does not allow. */
function refusedEntries(access: SmartAccess, body: unknown): string | undefined {
  const b = body as Bundle | undefined;
  if (b?.resourceType !== 'Bundle') return undefined;
  for (const e of b.entry ?? []) {
    const url = e.request?.url ?? '';
    const [type = '', id] = url.split('?')[0]!.split('/');
    const m = e.request?.method ?? '';
    const action: ScopeAction =
      m === 'GET' || m === 'HEAD' ? (id ? 'r' : 's') : m === 'POST' ? 'c' : m === 'DELETE' ? 'd' : 'u';
    if (!access.allows(type, action))
      return `the access token does not allow ${VERB[action]} ${type} (${m} ${url})`;
  }
  return undefined;
}

const VERB: Record<ScopeAction, string> = {
  c: 'creating',
  r: 'reading',
  u: 'updating',
  d: 'deleting',
  s: 'searching',
};

/** A search answer without the resources (included ones) the token may not read. */
function readableOnly(bundle: Bundle, access: SmartAccess | undefined): Bundle {
  if (!access) return bundle;
  const entry = (bundle.entry ?? []).filter((e) => {
    const t = e.resource?.resourceType ?? '';
    return access.allows(t, 'r') || (e.search?.mode !== 'include' && access.allows(t, 's'));
  });
  return { ...bundle, entry };
}

function activityOf(version: Resource, index: number): 'CREATE' | 'UPDATE' | 'DELETE' {
  return isTombstone(version) ? 'DELETE' : index === 0 ? 'CREATE' : 'UPDATE';
}

/** Search bundles get fullUrls and self/next/previous links (Medplum's memory search returns neither). */
function shapeSearch(bundle: Bundle, req: FhirHttpRequest, query: Record<string, string | string[]>): Bundle {
  const path = req.path.replace(/\/_search$/, '');
  for (const e of bundle.entry ?? [])
    if (e.resource) e.fullUrl = `${req.baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
  const count = Number(firstOf(query._count));
  const offset = Number(firstOf(query._offset) ?? 0) || 0;
  const link = (relation: string, off: number): BundleLink => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (k !== '_offset') for (const x of [v].flat()) q.append(k, x);
    if (off > 0) q.set('_offset', String(off));
    const s = q.toString();
    return { relation, url: `${req.baseUrl}/${path}${s ? `?${s}` : ''}` };
  };
  const links = [link('self', offset)];
  if (Number.isFinite(count) && count > 0) {
    links.push(link('first', 0));
    if (bundle.total !== undefined && offset + count < bundle.total) links.push(link('next', offset + count));
    if (offset > 0) links.push(link('previous', Math.max(0, offset - count)));
  }
  return { ...bundle, link: links };
}

function versionHeaders(r: Resource, baseUrl: string, withLocation: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  const vid = r.meta?.versionId;
  if (vid) h.etag = `W/"${vid}"`;
  if (r.meta?.lastUpdated) h['last-modified'] = new Date(r.meta.lastUpdated).toUTCString();
  if (withLocation && r.id)
    h.location = `${baseUrl}/${r.resourceType}/${r.id}${vid ? `/_history/${vid}` : ''}`;
  return h;
}

function respond(status: number, body: Resource, headers: Record<string, string> = {}): FhirHttpResponse {
  return { status, headers: { 'content-type': 'application/fhir+json; charset=utf-8', ...headers }, body };
}

function fail(status: number, code: OperationOutcomeIssue['code'], diagnostics: string): FhirHttpResponse {
  return respond(status, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, details: { text: diagnostics } }],
  });
}

function forbiddenOutcome(diagnostics: string): OperationOutcome {
  return {
    ...forbidden,
    issue: [{ ...(forbidden.issue?.[0] ?? { severity: 'error', code: 'forbidden' }), diagnostics }],
  };
}

/** Errors raised by the SDK (the node refused, or a record failed verification) as OperationOutcomes. */
function sdkOutcome(err: unknown): OperationOutcome | undefined {
  const e = err as { name?: string; code?: string; message?: string };
  if (
    e?.name !== 'MedblocApiError' &&
    e?.name !== 'RecordVerificationError' &&
    e?.name !== 'NodeUnreachableError'
  )
    return undefined;
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: e.name === 'MedblocApiError' && e.code === 'NOT_CERTIFIED' ? 'forbidden' : 'exception',
        details: {
          coding: [{ system: 'https://medbloc.org/fhir/CodeSystem/errors', code: e.code ?? 'UNKNOWN' }],
        },
        diagnostics: e.message ?? String(err),
      },
    ],
  };
}

function statusOfError(err: unknown, outcome: OperationOutcome): number {
  const e = err as { name?: string; status?: number };
  if (e?.name === 'MedblocApiError' && typeof e.status === 'number') return e.status >= 500 ? 502 : e.status;
  if (e?.name === 'NodeUnreachableError') return 503;
  if (err instanceof OperationOutcomeError) return getStatus(outcome);
  return getStatus(outcome) === 200 ? 500 : getStatus(outcome);
}

function firstOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
