/**
 * SMART App Launch (standalone launch, public clients, authorization code + PKCE S256) for the gateway's identity.
 *
 * An app is a MedBloc account: its `client_id` is its address, registered on the node with an encryption key. The
 * patient (the identity whose keys the gateway holds) sees an approval page naming the app and what it asks for,
 * and confirms with the keystore passphrase. Approval is an on-chain consent: a care grant of every category the
 * requested resource types can fall in (all six for `patient/*`), signed by the patient and lapsing when the token
 * does. The token is opaque, short-lived, held only in this process, and bound to the requested scopes; every use
 * checks that the grants it came with are still live on chain, so `medbloc revoke` ends it at once.
 *
 * Transport-agnostic like the rest of the gateway: each endpoint maps a FhirHttpRequest to a FhirHttpResponse.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Category, MedblocClient } from '@medbloc/sdk';
import { isResourceType } from '@medplum/core';
import type { FhirHttpRequest, FhirHttpResponse } from './gateway.ts';

type Hex = `0x${string}`;
export type ScopeAction = 'c' | 'r' | 'u' | 'd' | 's';

/** One clinical scope: `patient/Observation.rs`, `user/*.cruds`, SMART v1 `patient/*.read`. */
export interface ScopeRule {
  text: string;
  type: string;
  actions: Set<ScopeAction>;
}

/** What a bearer token lets its app do; handed to the gateway with each request. */
export interface SmartAccess {
  clientId: Hex;
  scope: string;
  patient: string | undefined;
  allows(type: string, action: ScopeAction): boolean;
}

export interface SmartOptions {
  /** Confirms that the person at the approval page is the patient (the keystore passphrase). */
  approve(passphrase: string): boolean | Promise<boolean>;
  /** Access-token lifetime, seconds (default 3600); the consent grant lapses with it. */
  tokenTtlSeconds?: number;
  /** Authorization-code lifetime, seconds (default 60). */
  codeTtlSeconds?: number;
  /** Refuse every FHIR request without a valid bearer token (default false: the identity's own process is trusted). */
  requireToken?: boolean;
}

const CATEGORY_LIST: Category[] = ['labs', 'imaging', 'medications', 'notes', 'genomics', 'other'];

/**
 * The record categories a resource type can be filed under (see the SDK's categoryOf): a type-level scope needs a
 * grant of each, since the category of a single record depends on its content.
 */
export function categoriesOfType(type: string): Category[] {
  if (type === '*') return [...CATEGORY_LIST];
  if (type === 'ImagingStudy' || type === 'Media') return ['imaging'];
  if (type.startsWith('Medication')) return ['medications'];
  if (type === 'MolecularSequence') return ['genomics'];
  if (type === 'Observation') return ['labs', 'imaging', 'genomics', 'other'];
  if (type === 'DiagnosticReport') return ['labs', 'imaging', 'genomics', 'notes'];
  if (type === 'DocumentReference' || type === 'ClinicalImpression' || type === 'Composition')
    return ['notes'];
  return ['other'];
}

const V1: Record<string, ScopeAction[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/**
 * Parses a SMART scope string. Clinical scopes in the `patient/` or `user/` context (both mean this identity) with
 * v2 permissions (`cruds`, in that order) or v1 ones (`read`, `write`, `*`); `launch/patient`, `openid`, `fhirUser`
 * are understood; anything else (e.g. `system/`, `offline_access`) is reported as not grantable.
 *
 * @example
 * parseScopes('launch/patient patient/Observation.rs').rules[0].actions // Set { 'r', 's' }
 */
export function parseScopes(scope: string): { rules: ScopeRule[]; other: string[]; refused: string[] } {
  const rules: ScopeRule[] = [];
  const other: string[] = [];
  const refused: string[] = [];
  for (const text of scope.split(/\s+/).filter(Boolean)) {
    const m = /^(patient|user)\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)(\?.*)?$/.exec(text);
    if (m?.[3] && !m[4] && (m[2] === '*' || isResourceType(m[2] as string))) {
      rules.push({
        text,
        type: m[2] as string,
        actions: new Set(V1[m[3]] ?? (m[3].split('') as ScopeAction[])),
      });
    } else if (text === 'launch/patient' || text === 'openid' || text === 'fhirUser') other.push(text);
    else refused.push(text);
  }
  return { rules, other, refused };
}

function accessOf(clientId: Hex, scope: string, patient: string | undefined): SmartAccess {
  const { rules } = parseScopes(scope);
  return {
    clientId,
    scope,
    patient,
    allows: (type, action) => rules.some((r) => (r.type === '*' || r.type === type) && r.actions.has(action)),
  };
}

interface Pending {
  clientId: Hex;
  /** What the chain says of the app's account, for the patient to judge it by. */
  standing: string;
  redirectUri: string;
  state: string | undefined;
  scope: string;
  challenge: string;
  expires: number;
}

interface Code {
  clientId: Hex;
  redirectUri: string;
  challenge: string;
  scope: string;
  patient: string | undefined;
  scopeIds: Hex[];
  grantExpiry: number;
  expires: number;
  used: boolean;
  /** Hashes of the tokens issued for this code (revoked if the code is replayed). */
  tokens: string[];
}

interface Token {
  clientId: Hex;
  scope: string;
  patient: string | undefined;
  scopeIds: Hex[];
  expires: number;
}

/**
 * @example
 * const smart = createSmartAuth({ client, patients: () => ['p1'], approve: (p) => p === passphrase });
 * const res = await smart.handle(req); // undefined when `req` is not a SMART endpoint
 */
export function createSmartAuth(
  opts: SmartOptions & { client: MedblocClient; patients: () => string[]; log?: (msg: string) => void },
) {
  const { client } = opts;
  const tokenTtl = opts.tokenTtlSeconds ?? 3600;
  const codeTtl = (opts.codeTtlSeconds ?? 60) * 1000;
  const pending = new Map<string, Pending>();
  const codes = new Map<string, Code>();
  const tokens = new Map<string, Token>();
  const log = opts.log ?? (() => {});

  /** Answers SMART discovery, /auth/authorize and /auth/token; undefined for any other path. */
  /** Forgets lapsed requests, codes and tokens (all of them live only in this process's memory). */
  function sweep() {
    const now = Date.now();
    for (const [k, p] of pending) if (p.expires < now) pending.delete(k);
    for (const [k, c] of codes) if (c.expires + codeTtl < now) codes.delete(k);
    for (const [k, t] of tokens) if (t.expires < now) tokens.delete(k);
  }

  async function handle(req: FhirHttpRequest): Promise<FhirHttpResponse | undefined> {
    const method = req.method.toUpperCase();
    if (req.path.startsWith('auth/')) sweep();
    if (req.path === '.well-known/smart-configuration')
      return method === 'GET'
        ? json(200, configuration(req.baseUrl))
        : oauthError(405, 'invalid_request', 'use GET');
    if (req.path === 'auth/authorize') {
      if (method === 'GET') return authorize(req);
      if (method === 'POST') return decide(req);
      return oauthError(405, 'invalid_request', 'use GET or POST');
    }
    if (req.path === 'auth/token')
      return method === 'POST' ? token(req) : oauthError(405, 'invalid_request', 'use POST');
    return undefined;
  }

  function configuration(baseUrl: string) {
    return {
      issuer: baseUrl,
      authorization_endpoint: `${baseUrl}/auth/authorize`,
      token_endpoint: `${baseUrl}/auth/token`,
      grant_types_supported: ['authorization_code'],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['none'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: [
        'launch/patient',
        'patient/*.rs',
        'patient/*.cruds',
        'patient/*.read',
        'patient/*.write',
        'user/*.rs',
        'user/*.cruds',
        'patient/Observation.rs',
        'patient/Condition.rs',
        'patient/MedicationRequest.rs',
      ],
      capabilities: [
        'launch-standalone',
        'client-public',
        'context-standalone-patient',
        'permission-patient',
        'permission-user',
        'permission-v1',
        'permission-v2',
      ],
    };
  }

  /** Checks the request and shows the approval page; errors before the redirect URI is trusted are not redirected. */
  async function authorize(req: FhirHttpRequest): Promise<FhirHttpResponse> {
    const q = (k: string) => one(req.query[k]);
    const clientId = q('client_id');
    const redirectUri = q('redirect_uri');
    if (!clientId || !/^0x[0-9a-fA-F]{40}$/.test(clientId))
      return page(400, 'Unknown app', '<p>client_id must be the app’s MedBloc account address (0x…).</p>');
    if (!redirectUri || !/^https?:\/\/[^\s]+$/.test(redirectUri))
      return page(400, 'Bad request', '<p>redirect_uri must be an absolute http(s) URL.</p>');
    const state = q('state');
    const back = (error: string, description: string) =>
      redirect(redirectUri, { error, error_description: description, state });
    if (q('response_type') !== 'code') return back('unsupported_response_type', 'response_type must be code');
    const aud = q('aud');
    if (aud !== undefined && aud.replace(/\/$/, '') !== req.baseUrl)
      return back('invalid_request', `aud must be this FHIR server (${req.baseUrl})`);
    const method = q('code_challenge_method');
    const challenge = q('code_challenge');
    if (!challenge || !method)
      return back('invalid_request', 'PKCE is required: send code_challenge with S256');
    if (method !== 'S256') return back('invalid_request', 'only the S256 code_challenge_method is supported');
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge))
      return back('invalid_request', 'code_challenge must be a base64url SHA-256 digest');
    const scope = q('scope') ?? '';
    const parsed = parseScopes(scope);
    if (parsed.refused.length)
      return back('invalid_scope', `not grantable here: ${parsed.refused.join(' ')}`);
    if (!parsed.rules.length)
      return back('invalid_scope', 'ask for at least one patient/ or user/ resource scope');
    const account = await client.account(clientId as Hex).catch(() => undefined);
    if (!account?.encryptionKey || /^0x0*$/.test(account.encryptionKey))
      return back('unauthorized_client', `${clientId} is not a registered MedBloc account`);
    const certified = account.certifications
      .filter((c) => c.certified)
      .map((c) => `a certified ${c.role} (issuer ${c.issuer})`);
    const standing = certified.length
      ? certified.join(' and ')
      : 'a registered MedBloc account, not certified as a provider or researcher';
    const id = randomBytes(16).toString('hex');
    pending.set(id, {
      standing,
      clientId: clientId.toLowerCase() as Hex,
      redirectUri,
      state,
      scope,
      challenge,
      expires: Date.now() + 10 * 60_000,
    });
    return approvalPage(id, pending.get(id) as Pending, undefined);
  }

  function approvalPage(id: string, p: Pending, problem: string | undefined): FhirHttpResponse {
    const { rules, other } = parseScopes(p.scope);
    const verbs: Record<ScopeAction, string> = {
      c: 'create',
      r: 'read',
      u: 'update',
      d: 'delete',
      s: 'search',
    };
    const items = rules
      .map((r) => {
        const what = r.type === '*' ? 'all your records' : `your ${r.type} records`;
        const can = [...r.actions].map((a) => verbs[a]).join(', ');
        return `<li><code>${esc(r.text)}</code>: ${esc(can)} ${esc(what)}</li>`;
      })
      .join('');
    const categories = [...new Set(rules.flatMap((r) => categoriesOfType(r.type)))];
    const hours = Math.round((tokenTtl / 3600) * 10) / 10;
    return page(
      problem ? 401 : 200,
      'Allow this app?',
      `${problem ? `<p class="problem">${esc(problem)}</p>` : ''}
<p>The app <code>${esc(p.clientId)}</code> — ${esc(p.standing)} — returning to
<code>${esc(new URL(p.redirectUri).origin)}</code>, asks to:</p>
<ul>${items}</ul>
${other.includes('launch/patient') ? '<p>It will be told which patient record it is working with.</p>' : ''}
<p>Allowing it signs a consent on chain from <code>${esc(client.address)}</code> to the app, purpose <em>care</em>,
for the categories <strong>${esc(categories.join(', '))}</strong>, lapsing in ${hours} h. You can revoke it any time
(<code>medbloc revoke ${esc(p.clientId)} --category …</code>); its access token stops working at once.</p>
<form method="post">
<input type="hidden" name="request" value="${esc(id)}">
<label>Keystore passphrase <input type="password" name="passphrase" autocomplete="current-password"></label>
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Deny</button>
</form>`,
    );
  }

  /** The patient's answer: deny, or allow with the passphrase (which signs the on-chain consent). */
  async function decide(req: FhirHttpRequest): Promise<FhirHttpResponse> {
    const form = new URLSearchParams(req.body ?? '');
    const id = form.get('request') ?? '';
    const p = pending.get(id);
    if (!p || p.expires < Date.now()) {
      pending.delete(id);
      return page(
        400,
        'Request expired',
        '<p>This authorization request is unknown or expired; start again from the app.</p>',
      );
    }
    if (form.get('decision') !== 'allow') {
      pending.delete(id);
      return redirect(p.redirectUri, {
        error: 'access_denied',
        error_description: 'the patient declined',
        state: p.state,
      });
    }
    if (!(await opts.approve(form.get('passphrase') ?? '')))
      return approvalPage(id, p, 'That passphrase is not right.');
    pending.delete(id);
    const { rules, other } = parseScopes(p.scope);
    // What is granted: the resource scopes and launch/patient; no id_token is issued, so openid/fhirUser are not.
    const granted = [
      ...(other.includes('launch/patient') ? ['launch/patient'] : []),
      ...rules.map((r) => r.text),
    ];
    const categories = [...new Set(rules.flatMap((r) => categoriesOfType(r.type)))];
    const grantExpiry = Math.floor((Date.now() + codeTtl) / 1000) + tokenTtl;
    const scopeIds: Hex[] = [];
    for (const category of categories) {
      const g = await client.grant({
        grantee: p.clientId,
        category,
        purpose: 'care',
        expiresAt: grantExpiry,
      });
      scopeIds.push(...(g.scopes as Hex[]));
    }
    log(`fhir: ${client.address} granted ${categories.join(',')} to app ${p.clientId} until ${grantExpiry}`);
    const patients = opts.patients();
    const code = randomBytes(32).toString('base64url');
    codes.set(digest(code), {
      clientId: p.clientId,
      redirectUri: p.redirectUri,
      challenge: p.challenge,
      scope: granted.join(' '),
      patient: patients.length === 1 ? patients[0] : undefined,
      scopeIds,
      grantExpiry,
      expires: Date.now() + codeTtl,
      used: false,
      tokens: [],
    });
    return redirect(p.redirectUri, { code, state: p.state });
  }

  async function token(req: FhirHttpRequest): Promise<FhirHttpResponse> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (type !== 'application/x-www-form-urlencoded')
      return oauthError(
        400,
        'invalid_request',
        'send the token request as application/x-www-form-urlencoded',
      );
    const form = new URLSearchParams(req.body ?? '');
    if (form.get('grant_type') !== 'authorization_code')
      return oauthError(400, 'unsupported_grant_type', 'only authorization_code is supported');
    const raw = form.get('code') ?? '';
    const code = codes.get(digest(raw));
    if (!code) return oauthError(400, 'invalid_grant', 'unknown authorization code');
    if (code.used) {
      // A replayed code: per OAuth 2 security practice, what was issued from it is withdrawn too.
      for (const t of code.tokens) tokens.delete(t);
      return oauthError(400, 'invalid_grant', 'the authorization code was already used');
    }
    code.used = true;
    if (code.expires < Date.now()) return oauthError(400, 'invalid_grant', 'the authorization code expired');
    const clientId = (form.get('client_id') ?? '').toLowerCase();
    if (clientId !== code.clientId)
      return oauthError(400, 'invalid_grant', 'the code was issued to another client');
    if (form.get('redirect_uri') !== code.redirectUri)
      return oauthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
    const verifier = form.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier))
      return oauthError(400, 'invalid_grant', 'code_verifier must be 43-128 unreserved characters');
    const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
    const expected = Buffer.from(code.challenge);
    if (computed.length !== expected.length || !timingSafeEqual(computed, expected))
      return oauthError(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
    const accessToken = randomBytes(32).toString('base64url');
    const expires = Math.min(Date.now() + tokenTtl * 1000, code.grantExpiry * 1000);
    tokens.set(digest(accessToken), {
      clientId: code.clientId,
      scope: code.scope,
      patient: code.patient,
      scopeIds: code.scopeIds,
      expires,
    });
    code.tokens.push(digest(accessToken));
    return json(
      200,
      {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: Math.floor((expires - Date.now()) / 1000),
        scope: code.scope,
        ...(code.patient ? { patient: code.patient } : {}),
      },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  /**
   * The access a bearer token carries, or why it carries none: unknown, expired, or its consent revoked or lapsed
   * on chain (checked at every use).
   */
  async function authenticate(authorization: string): Promise<{ access: SmartAccess } | { error: string }> {
    const raw = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization.trim())?.[1];
    if (!raw) return { error: 'the Authorization header must be "Bearer <access token>"' };
    const t = tokens.get(digest(raw));
    if (!t) return { error: 'unknown access token' };
    if (t.expires <= Date.now()) {
      tokens.delete(digest(raw));
      return { error: 'the access token expired' };
    }
    const live = new Set(
      (await client.grants())
        .filter((g) => g.live && g.grantee.toLowerCase() === t.clientId && g.purpose === 'care')
        .map((g) => g.scope.toLowerCase()),
    );
    if (!t.scopeIds.every((s) => live.has(s.toLowerCase()))) {
      tokens.delete(digest(raw));
      return { error: 'the consent behind this access token was revoked or has lapsed' };
    }
    return { access: accessOf(t.clientId, t.scope, t.patient) };
  }

  return { handle, authenticate, requireToken: opts.requireToken ?? false };
}

export type SmartAuth = ReturnType<typeof createSmartAuth>;

/** The 401 a FHIR request gets for a missing or useless token: an OperationOutcome plus the OAuth challenge. */
export function unauthorized(description: string): FhirHttpResponse {
  return {
    status: 401,
    headers: {
      'content-type': 'application/fhir+json; charset=utf-8',
      'www-authenticate': `Bearer error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
    },
    body: {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'login', diagnostics: description }],
    },
  };
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): FhirHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    text: JSON.stringify(body),
  };
}

function oauthError(status: number, error: string, description: string): FhirHttpResponse {
  return json(status, { error, error_description: description }, { 'cache-control': 'no-store' });
}

function redirect(uri: string, params: Record<string, string | undefined>): FhirHttpResponse {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store' } };
}

function page(status: number, title: string, body: string): FhirHttpResponse {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    text: `<!doctype html><html><head><meta charset="utf-8"><title>MedBloc · ${esc(title)}</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto}.problem{color:#b00}</style></head>
<body><h1>${esc(title)}</h1>${body}</body></html>`,
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
