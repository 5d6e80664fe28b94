/**
 * SMART App Launch against a patient's FHIR gateway on a real node and chain: discovery, the authorization code flow
 * with PKCE driven by SMART Health IT's fhirclient (an app on its own HTTP server) and by hand, the patient's
 * approval becoming an on-chain consent grant to the app's account (also seen as a FHIR Consent), scope enforcement
 * on reads, searches, writes, transactions and $export, and revocation with `medbloc revoke` ending the token.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encryptKeystore, generateMnemonic, identityFromMnemonic } from '@medbloc/core';
import { createClient, type MedblocClient } from '@medbloc/sdk';
import type { Bundle, Observation, OperationOutcome } from '@medplum/fhirtypes';
import { mountGateway, syntheaBundle } from './support/fhir-gateway.ts';
import { cli, newIdentity, startTestNode, tempDir } from './support/harness.ts';

const require = createRequire(import.meta.url);
interface SmartClient {
  patient: { id: string | null };
  state: { tokenResponse?: { access_token?: string; scope?: string; patient?: string } };
  request<T = unknown>(url: string): Promise<T>;
}
const smart = require('fhirclient') as (
  req: IncomingMessage,
  res: ServerResponse,
  storage: unknown,
) => {
  authorize(o: Record<string, unknown>): Promise<unknown>;
  ready(): Promise<SmartClient>;
};

const PASSPHRASE = 'the patient’s own passphrase';
const b64url = (b: Buffer) => b.toString('base64url');

/** A SMART app: an HTTP server with a launch and a callback route, using fhirclient's Node adapter. */
/** The OAuth token request of a SMART app: its authorization code and PKCE verifier for an access token. */
function exchangeCode(
  base: string,
  o: { code: string; verifier: string; redirectUri: string; clientId: string },
): Promise<Response> {
  return fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: o.code,
      redirect_uri: o.redirectUri,
      client_id: o.clientId,
      code_verifier: o.verifier,
    }),
  });
}

async function startApp(iss: string, clientId: string, scope: string) {
  const session: Record<string, unknown> = {};
  const storage = {
    get: async (k: string) => session[k],
    set: async (k: string, v: unknown) => {
      session[k] = v;
      return v;
    },
    unset: async (k: string) => delete session[k],
  };
  let client: SmartClient | undefined;
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.url?.startsWith('/launch'))
        await smart(req, res, storage).authorize({
          iss,
          clientId,
          scope,
          redirectUri: '/callback',
          pkceMode: 'required',
        });
      else if (req.url?.startsWith('/callback')) {
        client = await smart(req, res, storage).ready();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ patient: client.patient.id }));
      } else res.writeHead(404).end();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String((err as Error).message));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    client: () => client,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('SMART App Launch with PKCE', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let g: Awaited<ReturnType<typeof mountGateway>>;
  let patient: MedblocClient;
  let app: MedblocClient;
  let keys: string;
  let patientId: string;
  let conditionId: string;

  /** Drives authorize → approval page → allow; returns the redirect back to the app. */
  async function approve(params: Record<string, string>, passphrase = PASSPHRASE) {
    const url = new URL(`${g.base}/auth/authorize`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const shown = await fetch(url, { redirect: 'manual' });
    if (shown.status === 302) return new URL(shown.headers.get('location') as string);
    assert.equal(shown.status, 200, await shown.clone().text());
    assert.match(shown.headers.get('content-type') ?? '', /^text\/html/);
    const html = await shown.text();
    const request = /name="request" value="([0-9a-f]+)"/.exec(html)?.[1] as string;
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ request, decision: 'allow', passphrase }),
    });
    assert.equal(res.status, 302, await res.clone().text());
    return new URL(res.headers.get('location') as string);
  }

  /** A hand-driven authorization for `scope`: the verifier, the code and the redirect URI. */
  async function handCode(scope: string) {
    const verifier = b64url(randomBytes(48));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const redirectUri = 'http://127.0.0.1:1/callback';
    const back = await approve({
      response_type: 'code',
      client_id: app.address,
      redirect_uri: redirectUri,
      scope,
      state: 'xyz',
      aud: g.base,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    assert.equal(back.searchParams.get('state'), 'xyz');
    return { verifier, code: back.searchParams.get('code') as string, redirectUri };
  }

  const exchange = (o: { code: string; verifier: string; redirectUri: string; clientId?: string }) =>
    exchangeCode(g.base, { ...o, clientId: o.clientId ?? app.address });

  async function tokenFor(scope: string): Promise<string> {
    const c = await handCode(scope);
    const res = await exchange(c);
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { access_token: string }).access_token;
  }

  const bearer = (token: string, more: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`,
    ...more,
  });

  before(async () => {
    t = await startTestNode();
    keys = await tempDir('medbloc-keys-');
    const mnemonic = generateMnemonic();
    await writeFile(
      path.join(keys, 'patient.json'),
      JSON.stringify(await encryptKeystore(mnemonic, PASSPHRASE)),
    );
    patient = createClient({ node: t.node.url, identity: identityFromMnemonic(mnemonic) });
    await patient.register({ roles: ['patient'] });
    app = createClient({ node: t.node.url, identity: newIdentity() });
    await app.register({ roles: ['patient'] });
    g = await mountGateway(patient, {
      smart: { approve: (p) => p === PASSPHRASE, tokenTtlSeconds: 900, codeTtlSeconds: 2 },
    });
    const res = await g.fetch('', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(await syntheaBundle('Antonio_Carmona')),
    });
    const answer = (await res.json()) as Bundle;
    const loc = (t: string) =>
      answer.entry
        ?.find((e) => e.response?.location?.startsWith(`${t}/`))
        ?.response?.location?.split('/')[1] as string;
    patientId = loc('Patient');
    conditionId = loc('Condition');
  });
  after(async () => {
    await g?.close();
    await t?.stop();
  });

  test('discovery: .well-known/smart-configuration', async () => {
    const res = await g.fetch('.well-known/smart-configuration');
    assert.equal(res.status, 200);
    const cfg = (await res.json()) as Record<string, string | string[]>;
    assert.equal(cfg.authorization_endpoint, `${g.base}/auth/authorize`);
    assert.equal(cfg.token_endpoint, `${g.base}/auth/token`);
    assert.deepEqual(cfg.code_challenge_methods_supported, ['S256']);
    for (const c of ['launch-standalone', 'client-public', 'context-standalone-patient', 'permission-v2'])
      assert.ok(cfg.capabilities?.includes(c), c);
    assert.ok(cfg.scopes_supported?.includes('patient/*.rs'));
    const cs = (await (await g.fetch('metadata')).json()) as {
      rest: { security: { service: { coding: { code: string }[] }[]; extension: { url: string }[] } }[];
    };
    assert.equal(cs.rest[0]?.security.service[0]?.coding[0]?.code, 'SMART-on-FHIR');
  });

  test('fhirclient: standalone launch, approval signs an on-chain grant, the token reads Observations', async () => {
    const smartApp = await startApp(
      g.base,
      app.address,
      'openid fhirUser launch/patient patient/Observation.rs',
    );
    try {
      const launch = await fetch(`${smartApp.origin}/launch`, { redirect: 'manual' });
      assert.equal(launch.status, 302);
      const authorizeUrl = new URL(launch.headers.get('location') as string);
      assert.equal(authorizeUrl.origin + authorizeUrl.pathname, `${g.base}/auth/authorize`);
      assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');

      const page = await (await fetch(authorizeUrl)).text();
      assert.match(page, new RegExp(app.address.toLowerCase()));
      assert.match(page, /patient\/Observation\.rs/);
      assert.match(page, /labs, imaging, genomics, other/);
      assert.match(
        page,
        /not certified as a provider or researcher/,
        'the page says what the chain knows of the app',
      );
      const request = /name="request" value="([0-9a-f]+)"/.exec(page)?.[1] as string;
      const post = (passphrase: string) =>
        fetch(authorizeUrl, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ request, decision: 'allow', passphrase }),
        });
      const wrong = await post('not it');
      assert.equal(wrong.status, 401);
      assert.match(await wrong.text(), /passphrase is not right/);
      assert.equal((await patient.grants()).length, 0, 'nothing granted on a wrong passphrase');

      const allowed = await post(PASSPHRASE);
      assert.equal(allowed.status, 302);
      const back = await fetch(allowed.headers.get('location') as string);
      assert.equal(back.status, 200, await back.clone().text());
      assert.deepEqual(await back.json(), { patient: patientId });
      const client = smartApp.client() as SmartClient;
      assert.equal(client.state.tokenResponse?.scope, 'launch/patient patient/Observation.rs');
      assert.equal(client.state.tokenResponse?.patient, patientId);

      const obs = await client.request<Bundle<Observation>>(`Observation?patient=${patientId}&_count=5`);
      assert.equal(obs.entry?.length, 5);
      await assert.rejects(
        client.request(`Condition/${conditionId}`),
        /403|does not allow reading Condition/,
      );

      const grants = (await patient.grants()).filter((gr) => gr.grantee === app.address);
      assert.deepEqual(grants.map((gr) => gr.category).sort(), ['genomics', 'imaging', 'labs', 'other']);
      for (const gr of grants) {
        assert.equal(gr.live, true);
        assert.equal(gr.purpose, 'care');
        assert.ok(
          Math.abs(gr.expiresAt - (Date.now() / 1000 + 900)) < 60,
          'the consent lapses with the token',
        );
      }
      // The app's own account can see the grants made to it, and the patient sees them as FHIR Consent.
      assert.equal((await app.grants({ as: 'grantee' })).length, 4);
      const consents = (await (await g.fetch('Consent')).json()) as Bundle;
      const toApp = consents.entry?.filter((e) =>
        JSON.stringify(e.resource).toLowerCase().includes(app.address.toLowerCase()),
      );
      assert.equal(toApp?.length, 4);
      assert.ok(toApp?.every((e) => (e.resource as { status: string }).status === 'active'));
    } finally {
      await smartApp.close();
    }
  });

  test('PKCE: plain and missing challenges, wrong verifier, replayed and expired codes are refused', async () => {
    const base = {
      response_type: 'code',
      client_id: app.address,
      redirect_uri: 'http://127.0.0.1:1/cb',
      scope: 'patient/Observation.rs',
      state: 's1',
      aud: g.base,
    };
    const plain = await approve({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    assert.equal(plain.searchParams.get('error'), 'invalid_request');
    assert.match(plain.searchParams.get('error_description') ?? '', /S256/);
    assert.equal(plain.searchParams.get('state'), 's1');
    const none = await approve(base);
    assert.equal(none.searchParams.get('error'), 'invalid_request');
    const stranger = await approve({
      ...base,
      client_id: newIdentity().address,
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    });
    assert.equal(stranger.searchParams.get('error'), 'unauthorized_client');
    const system = await approve({
      ...base,
      scope: 'system/*.rs',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    });
    assert.equal(system.searchParams.get('error'), 'invalid_scope');

    const oauthError = async (res: Response, description: RegExp) => {
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const body = (await res.json()) as { error: string; error_description: string };
      assert.equal(body.error, 'invalid_grant');
      assert.match(body.error_description, description);
    };
    const a = await handCode('patient/Observation.rs');
    await oauthError(
      await exchange({ ...a, verifier: b64url(randomBytes(48)) }),
      /code_verifier does not match/,
    );

    const b = await handCode('patient/Observation.rs');
    await oauthError(await exchange({ ...b, clientId: newIdentity().address }), /another client/);

    const c = await handCode('patient/Observation.rs');
    const first = await exchange(c);
    assert.equal(first.status, 200);
    const { access_token, token_type, expires_in } = (await first.json()) as Record<string, string | number>;
    assert.equal(token_type, 'Bearer');
    assert.ok((expires_in as number) > 800 && (expires_in as number) <= 900);
    assert.equal(
      (await g.fetch('Observation?_count=1', { headers: bearer(access_token as string) })).status,
      200,
    );
    await oauthError(await exchange(c), /already used/);
    const after = await g.fetch('Observation?_count=1', { headers: bearer(access_token as string) });
    assert.equal(after.status, 401, 'a replayed code withdraws the token issued from it');

    const d = await handCode('patient/Observation.rs');
    await new Promise((r) => setTimeout(r, 2_100));
    await oauthError(await exchange(d), /expired/);

    const noCors = await g.fetch('metadata', { headers: { origin: 'https://evil.example' } });
    assert.equal(
      noCors.headers.get('access-control-allow-origin'),
      null,
      'no CORS while tokens are optional',
    );

    const unknown = await g.fetch('Observation', { headers: bearer('not-a-token') });
    assert.equal(unknown.status, 401);
    assert.match(unknown.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    assert.equal(((await unknown.json()) as OperationOutcome).issue?.[0]?.code, 'login');
  });

  test('scopes: reads and searches of granted types only, writes only with c/u/d, $export by type', async () => {
    const readOnly = await tokenFor('patient/Observation.rs');
    const h = bearer(readOnly, { 'content-type': 'application/fhir+json' });
    const obs = (await (await g.fetch('Observation?_count=1', { headers: h })).json()) as Bundle<Observation>;
    const obsId = obs.entry?.[0]?.resource?.id as string;
    assert.equal((await g.fetch(`Observation/${obsId}`, { headers: h })).status, 200);
    for (const url of [
      `Condition/${conditionId}`,
      'Condition',
      `Patient/${patientId}`,
      `Patient/${patientId}/$everything`,
      'Consent',
    ]) {
      const res = await g.fetch(url, { headers: h });
      assert.equal(res.status, 403, url);
      assert.equal(((await res.json()) as OperationOutcome).issue?.[0]?.code, 'forbidden');
    }
    const included = (await (
      await g.fetch(`Observation?_id=${obsId}&_include=Observation:patient`, { headers: h })
    ).json()) as Bundle;
    assert.deepEqual(
      included.entry?.map((e) => e.resource?.resourceType),
      ['Observation'],
      'included resources of other types are left out',
    );
    const body = JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'steps' } });
    const create = await g.fetch('Observation', { method: 'POST', headers: h, body });
    assert.equal(create.status, 403);
    assert.match(JSON.stringify(await create.json()), /does not allow creating Observation/);
    const tx = await g.fetch('', {
      method: 'POST',
      headers: h,
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: JSON.parse(body), request: { method: 'POST', url: 'Observation' } }],
      }),
    });
    assert.equal(tx.status, 403);
    const batch = await g.fetch('', {
      method: 'POST',
      headers: h,
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: `Observation?_id=${obsId}&_include=Observation:patient` } }],
      }),
    });
    assert.equal(batch.status, 200, await batch.clone().text());
    const inner = ((await batch.json()) as Bundle).entry?.[0]?.resource as Bundle;
    assert.deepEqual(
      inner.entry?.map((e) => e.resource?.resourceType),
      ['Observation'],
    );

    const chart = await tokenFor('patient/Patient.r patient/Observation.rs');
    const everything = await g.fetch(`Patient/${patientId}/$everything`, { headers: bearer(chart) });
    assert.equal(everything.status, 200);
    const all = (await everything.json()) as Bundle;
    assert.deepEqual([...new Set(all.entry?.map((e) => e.resource?.resourceType))].sort(), [
      'Observation',
      'Patient',
    ]);
    assert.equal(all.total, all.entry?.length);
    assert.equal(
      (await g.fetch('Patient', { headers: bearer(chart) })).status,
      403,
      'r without s: no search',
    );

    const writer = await tokenFor('patient/Observation.cruds');
    const made = await g.fetch('Observation', {
      method: 'POST',
      headers: bearer(writer, { 'content-type': 'application/fhir+json' }),
      body,
    });
    assert.equal(made.status, 201, await made.clone().text());
    const cond = await g.fetch('Condition', {
      method: 'POST',
      headers: bearer(writer, { 'content-type': 'application/fhir+json' }),
      body: JSON.stringify({ resourceType: 'Condition', subject: { reference: `Patient/${patientId}` } }),
    });
    assert.equal(cond.status, 403);

    const denied = await g.fetch('$export?_type=Condition', {
      headers: bearer(readOnly, { prefer: 'respond-async' }),
    });
    assert.equal(denied.status, 403);
    const kick = await g.fetch('$export', { headers: bearer(readOnly, { prefer: 'respond-async' }) });
    assert.equal(kick.status, 202);
    const statusUrl = kick.headers.get('content-location') as string;
    assert.equal((await fetch(statusUrl)).status, 404, 'the job belongs to the app that started it');
    let manifest: { requiresAccessToken: boolean; output: { type: string; url: string }[] } | undefined;
    for (let i = 0; i < 100 && !manifest; i++) {
      const res = await fetch(statusUrl, { headers: bearer(readOnly) });
      if (res.status === 200) manifest = (await res.json()) as typeof manifest;
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(manifest?.requiresAccessToken, true);
    assert.deepEqual(
      manifest?.output.map((o) => o.type),
      ['Observation'],
    );
    assert.equal((await fetch(manifest?.output[0]?.url as string)).status, 404);
    assert.equal(
      (await fetch(manifest?.output[0]?.url as string, { headers: bearer(readOnly) })).status,
      200,
    );
  });

  test('a token is short-lived: after its lifetime it is refused', async () => {
    const brief = await mountGateway(patient, {
      smart: { approve: (p) => p === PASSPHRASE, tokenTtlSeconds: 1 },
    });
    try {
      const verifier = b64url(randomBytes(32));
      const url = new URL(`${brief.base}/auth/authorize`);
      const redirectUri = 'http://127.0.0.1:1/cb';
      for (const [k, v] of Object.entries({
        response_type: 'code',
        client_id: app.address,
        redirect_uri: redirectUri,
        scope: 'patient/Observation.rs',
        code_challenge: b64url(createHash('sha256').update(verifier).digest()),
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(k, v);
      const request = /name="request" value="([0-9a-f]+)"/.exec(
        await (await fetch(url)).text(),
      )?.[1] as string;
      const allowed = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request, decision: 'allow', passphrase: PASSPHRASE }),
      });
      const code = new URL(allowed.headers.get('location') as string).searchParams.get('code') as string;
      const res = await exchangeCode(brief.base, { code, redirectUri, clientId: app.address, verifier });
      const { access_token, expires_in } = (await res.json()) as { access_token: string; expires_in: number };
      assert.ok(expires_in <= 1);
      assert.equal(
        (await brief.fetch('Observation?_count=1', { headers: bearer(access_token) })).status,
        200,
      );
      await new Promise((r) => setTimeout(r, 1_100));
      const late = await brief.fetch('Observation?_count=1', { headers: bearer(access_token) });
      assert.equal(late.status, 401);
      assert.match(JSON.stringify(await late.json()), /expired/);
      // A denial goes back to the app as access_denied and grants nothing.
      const before = (await patient.grants()).length;
      const again = /name="request" value="([0-9a-f]+)"/.exec(await (await fetch(url)).text())?.[1] as string;
      const denied = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: again, decision: 'deny' }),
      });
      assert.equal(
        new URL(denied.headers.get('location') as string).searchParams.get('error'),
        'access_denied',
      );
      assert.equal((await patient.grants()).length, before);
    } finally {
      await brief.close();
    }
  });

  test('medbloc revoke of the app’s grant makes its token useless', async () => {
    const token = await tokenFor('patient/*.rs');
    assert.equal((await g.fetch(`Condition/${conditionId}`, { headers: bearer(token) })).status, 200);
    const r = await cli(['--id', 'patient', 'revoke', app.address, '--category', 'labs'], {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: keys,
      MEDBLOC_PASSPHRASE: PASSPHRASE,
    });
    assert.equal(r.code, 0, r.stderr);
    const res = await g.fetch(`Condition/${conditionId}`, { headers: bearer(token) });
    assert.equal(res.status, 401);
    assert.match(JSON.stringify(await res.json()), /revoked or has lapsed/);
  });
});

describe('SMART on the node’s own /fhir (MEDBLOC_FHIR_KEYSTORE)', () => {
  test('with MEDBLOC_FHIR_REQUIRE_TOKEN every FHIR request needs a token the patient approved', async () => {
    const home = await tempDir();
    const mnemonic = generateMnemonic();
    const keystore = path.join(home, 'patient.json');
    await writeFile(keystore, JSON.stringify(await encryptKeystore(mnemonic, PASSPHRASE)));
    const t = await startTestNode(
      {
        MEDBLOC_FHIR_KEYSTORE: keystore,
        MEDBLOC_FHIR_PASSPHRASE: PASSPHRASE,
        MEDBLOC_FHIR_REQUIRE_TOKEN: '1',
      },
      home,
    );
    try {
      const base = `${t.node.url}/fhir`;
      const patient = createClient({ node: t.node.url, identity: identityFromMnemonic(mnemonic) });
      await patient.register({ roles: ['patient'] });
      const app = createClient({ node: t.node.url, identity: newIdentity() });
      await app.register({ roles: ['patient'] });
      assert.equal((await fetch(`${base}/metadata`)).status, 200);
      assert.equal((await fetch(`${base}/.well-known/smart-configuration`)).status, 200);
      const root = await fetch(`${t.node.url}/.well-known/smart-configuration`);
      assert.equal(
        root.url,
        `${base}/.well-known/smart-configuration`,
        'the server root redirects to the FHIR base',
      );
      assert.equal(((await root.json()) as { token_endpoint: string }).token_endpoint, `${base}/auth/token`);
      const open = await fetch(`${base}/Observation`);
      assert.equal(open.status, 401);
      assert.match(open.headers.get('www-authenticate') ?? '', /^Bearer/);
      // Browser apps: CORS, since every request must carry a token.
      const preflight = await fetch(`${base}/Observation`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
      const cors = await fetch(`${base}/metadata`, { headers: { origin: 'https://app.example' } });
      assert.equal(cors.headers.get('access-control-allow-origin'), '*');

      const verifier = b64url(randomBytes(32));
      const url = new URL(`${base}/auth/authorize`);
      const redirectUri = 'http://127.0.0.1:1/cb';
      for (const [k, v] of Object.entries({
        response_type: 'code',
        client_id: app.address,
        redirect_uri: redirectUri,
        scope: 'patient/Observation.rs',
        aud: base,
        code_challenge: b64url(createHash('sha256').update(verifier).digest()),
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(k, v);
      const request = /name="request" value="([0-9a-f]+)"/.exec(
        await (await fetch(url)).text(),
      )?.[1] as string;
      const post = (passphrase: string) =>
        fetch(url, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ request, decision: 'allow', passphrase }),
        });
      assert.equal((await post('guess')).status, 401, 'only the keystore passphrase approves');
      const allowed = await post(PASSPHRASE);
      assert.equal(allowed.status, 302);
      const code = new URL(allowed.headers.get('location') as string).searchParams.get('code') as string;
      const token = await exchangeCode(base, { code, redirectUri, clientId: app.address, verifier });
      const { access_token } = (await token.json()) as { access_token: string };
      const read = await fetch(`${base}/Observation`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      assert.equal(read.status, 200);
      assert.equal(((await read.json()) as Bundle).resourceType, 'Bundle');
      assert.equal(
        (await fetch(`${base}/Condition`, { headers: { authorization: `Bearer ${access_token}` } })).status,
        403,
      );
    } finally {
      await t.stop();
    }
  });
});
