/**
 * The HTTP edge: parses requests, calls the transport-agnostic services, serialises results. Every error leaves as
 * an RFC 9457 problem (`application/problem+json`) with a stable `code`.
 */
import { type Context, Hono } from 'hono';
import type { Address } from 'viem';
import { NodeError, toProblem } from '../errors.ts';
import type { AccountsService } from '../service/accounts.ts';
import type { AuditService, SignedAccessRequest } from '../service/audit.ts';
import type { AuthService } from '../service/auth.ts';
import type { BlobsService } from '../service/blobs.ts';
import type { CertificationService } from '../service/certification.ts';
import type { ConsentService } from '../service/consent.ts';
import type { DelegationService } from '../service/delegation.ts';
import type { EmergencyService } from '../service/emergency.ts';
import type { NotificationsService } from '../service/notifications.ts';
import type { RecordsService, ScopeEnvelope } from '../service/records.ts';
import type { RecoveryService } from '../service/recovery.ts';
import * as v from '../validate.ts';
import { mountCertification } from './certification-routes.ts';
import { openApiDocument } from './openapi.ts';

export interface AppDeps {
  auth: AuthService;
  accounts: AccountsService;
  records: RecordsService;
  blobs: BlobsService;
  consent: ConsentService;
  audit: AuditService;
  emergency: EmergencyService;
  delegation: DelegationService;
  recovery: RecoveryService;
  notifications: NotificationsService;
  certification?: CertificationService;
  health: () => Promise<Record<string, unknown>>;
  log?: (msg: string) => void;
}

type Env = { Variables: { caller: Address } };

export function createApp(deps: AppDeps) {
  const app = new Hono<Env>();

  app.onError((err, c) => {
    const problem = toProblem(err);
    if (problem.code === 'INTERNAL')
      deps.log?.(`internal error on ${c.req.method} ${c.req.path}: ${err.stack ?? err}`);
    return c.json(problem, problem.status as 400, { 'content-type': 'application/problem+json' });
  });
  app.notFound((c) => {
    const p = toProblem(new NodeError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
    return c.json(p, 404, { 'content-type': 'application/problem+json' });
  });

  const authed = async (c: Context<Env>, next: () => Promise<void>) => {
    const header = c.req.header('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    c.set('caller', deps.auth.authenticate(token));
    await next();
  };

  async function body(c: Context): Promise<Record<string, unknown>> {
    let parsed: unknown;
    try {
      parsed = await c.req.json();
    } catch (err) {
      throw new NodeError('INVALID_JSON', `request body is not valid JSON: ${(err as Error).message}`);
    }
    return v.object(parsed);
  }

  const PURPOSES: Record<string, number> = { care: 1, research: 2 };
  /** `?purpose=care|research` (default care) and the signed access request header, for every read. */
  function readOptions(c: Context<Env>) {
    const name = c.req.query('purpose') ?? 'care';
    const purpose = PURPOSES[name];
    if (!purpose) throw new NodeError('BAD_REQUEST', 'purpose must be care or research');
    const header = c.req.header('x-medbloc-access');
    return { purpose, request: header ? accessRequestOf(header) : undefined };
  }

  function scopeEnvelopes(o: Record<string, unknown>): ScopeEnvelope[] | undefined {
    if (o.scopes === undefined || o.scopes === null) return undefined;
    if (!Array.isArray(o.scopes) || o.scopes.length > 16)
      throw new NodeError('INVALID_BODY', '"scopes" must be an array of at most 16 scope envelopes');
    return o.scopes.map((x, i) => {
      const e = v.object(x, `scopes[${i}]`);
      return {
        scopeId: v.bytes32(e, 'scopeId'),
        envelope: v.string(e, 'envelope', 4096),
        kekId: v.optionalString(e, 'kekId', 200),
      };
    });
  }

  app.get('/health', async (c) => c.json(await deps.health()));
  app.get('/openapi.json', (c) => c.json(openApiDocument));

  app.post('/v1/auth/nonce', (c) => c.json({ nonce: deps.auth.nonce() }));
  app.post('/v1/auth/login', async (c) => {
    const b = await body(c);
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    return c.json(
      await deps.auth.login({ message: v.string(b, 'message', 4096), signature: v.signature(b) }, host),
    );
  });

  app.post('/v1/accounts', async (c) => {
    const b = await body(c);
    const out = await deps.accounts.register({
      account: v.address(b, 'account'),
      encryptionKey: v.bytes32(b, 'encryptionKey'),
      roles: Number(v.uint(b, 'roles')),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out, 201);
  });
  app.get('/v1/accounts/:address', async (c) => {
    return c.json(await deps.accounts.get(v.address({ a: c.req.param('address') }, 'a')));
  });
  app.get('/v1/accounts/:address/nonces', async (c) => {
    const address = v.address({ a: c.req.param('address') }, 'a');
    const nonces = await deps.accounts.nonces(address);
    return c.json({ ...nonces, records: deps.records.nextNonce(address, BigInt(nonces.records)).toString() });
  });
  app.get('/v1/accounts/:address/usage', authed, (c) => c.json(deps.blobs.usage(c.get('caller'))));

  app.post('/v1/certifications', async (c) => {
    const b = await body(c);
    const out = await deps.accounts.certify({
      account: v.address(b, 'account'),
      role: Number(v.uint(b, 'role')),
      credentialHash: v.bytes32(b, 'credentialHash'),
      expiresAt: v.uint(b, 'expiresAt'),
      authority: v.address(b, 'authority'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out, 201);
  });
  app.post('/v1/certifications/revoke', async (c) => {
    const b = await body(c);
    const out = await deps.accounts.revoke({
      account: v.address(b, 'account'),
      role: Number(v.uint(b, 'role')),
      authority: v.address(b, 'authority'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out);
  });

  app.post('/v1/blobs', authed, async (c) => {
    const raw = c.req.raw.body;
    if (!raw) throw new NodeError('BAD_REQUEST', 'send the ciphertext as the request body');
    const length = c.req.header('content-length');
    const out = await deps.blobs.upload(
      c.get('caller'),
      raw as unknown as AsyncIterable<Uint8Array>,
      length ? Number(length) : undefined,
    );
    return c.json(out, 201);
  });

  app.post('/v1/records', authed, async (c) => {
    const b = await body(c);
    const out = await deps.records.anchor(c.get('caller'), {
      owner: v.address(b, 'owner'),
      creator: v.address(b, 'creator'),
      digest: v.bytes32(b, 'digest'),
      keyCommitment: v.bytes32(b, 'keyCommitment'),
      supersedes: v.bytes32(b, 'supersedes'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      envelope: v.string(b, 'envelope', 4096),
      kekId: v.optionalString(b, 'kekId', 200),
      encMeta: v.optionalString(b, 'encMeta', 64 * 1024),
      scopes: scopeEnvelopes(b),
    });
    return c.json(out, 201);
  });
  app.post('/v1/records/batch', authed, async (c) => {
    const b = await body(c);
    const records = v.array(b, 'records', 100_000).map((r, i) => {
      const o = v.object(r, `records[${i}]`);
      return {
        owner: v.address(o, 'owner'),
        digest: v.bytes32(o, 'digest'),
        keyCommitment: v.bytes32(o, 'keyCommitment'),
        supersedes: v.bytes32(o, 'supersedes'),
        envelope: v.string(o, 'envelope', 4096),
        kekId: v.optionalString(o, 'kekId', 200),
        encMeta: v.optionalString(o, 'encMeta', 64 * 1024),
        scopes: scopeEnvelopes(o),
      };
    });
    const scopeKeys = Array.isArray(b.scopeKeys)
      ? b.scopeKeys.map((k, i) => {
          const o = v.object(k, `scopeKeys[${i}]`);
          return {
            kekId: v.string(o, 'kekId', 200),
            scopeId: v.bytes32(o, 'scopeId'),
            envelope: v.string(o, 'envelope', 4096),
          };
        })
      : [];
    const wrapKeys = Array.isArray(b.wrapKeys)
      ? b.wrapKeys.map((k, i) => {
          const o = v.object(k, `wrapKeys[${i}]`);
          return {
            kekId: v.string(o, 'kekId', 200),
            reader: v.address(o, 'reader'),
            envelope: v.string(o, 'envelope', 4096),
          };
        })
      : [];
    const out = await deps.records.anchorBatch(c.get('caller'), {
      creator: v.address(b, 'creator'),
      root: v.bytes32(b, 'root'),
      manifest: v.bytes32(b, 'manifest'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      records,
      wrapKeys,
      scopeKeys,
    });
    return c.json(out, 201);
  });
  app.get('/v1/records', authed, async (c) => {
    const caller = c.get('caller');
    const owner = c.req.query('owner') ? v.address({ o: c.req.query('owner') }, 'o') : caller;
    const limit = c.req.query('limit');
    return c.json(
      await deps.records.list(
        caller,
        owner,
        { after: c.req.query('after'), limit: limit ? Number(limit) : undefined },
        readOptions(c),
      ),
    );
  });
  app.get('/v1/records/:id', authed, async (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    return c.json(await deps.records.get(c.get('caller'), id, readOptions(c)));
  });
  app.post('/v1/records/:id/scopes', authed, async (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    const b = await body(c);
    const scope = {
      scopeId: v.bytes32(b, 'scopeId'),
      envelope: v.string(b, 'envelope', 4096),
      kekId: v.optionalString(b, 'kekId', 200),
    };
    return c.json(await deps.records.addScope(c.get('caller'), id, scope), 201);
  });
  app.get('/v1/records/:id/content', authed, async (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    const { cid, stream } = await deps.records.content(c.get('caller'), id, readOptions(c));
    return streamResponse(stream, { 'x-medbloc-cid': cid.toString() });
  });
  // A read in one round trip: the record (with the caller's key envelopes) as a header, the ciphertext as the body.
  app.get('/v1/records/:id/open', authed, async (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    const { record, cid, stream } = await deps.records.open(c.get('caller'), id, readOptions(c));
    return streamResponse(stream, {
      'x-medbloc-cid': cid.toString(),
      'x-medbloc-record': Buffer.from(JSON.stringify(record)).toString('base64url'),
      'access-control-expose-headers': 'x-medbloc-cid, x-medbloc-record',
    });
  });

  app.post('/v1/scopes', authed, async (c) => {
    const b = await body(c);
    const epoch = Number(v.uint(b, 'epoch'));
    if (epoch > 0xffff_ffff) throw new NodeError('INVALID_BODY', '"epoch" must fit in 32 bits');
    const out = await deps.consent.publishScopeKey(c.get('caller'), {
      owner: v.address(b, 'owner'),
      category: v.string(b, 'category', 64),
      epoch,
      scopeId: v.bytes32(b, 'scopeId'),
      publicKey: v.bytes32(b, 'publicKey'),
      signer: v.address(b, 'signer'),
      signature: v.signature(b),
    });
    return c.json(out, 201);
  });
  app.get('/v1/scopes/:owner', authed, (c) => {
    return c.json({ scopes: deps.consent.scopeKeys(v.address({ o: c.req.param('owner') }, 'o')) });
  });

  app.post('/v1/grants', authed, async (c) => {
    const b = await body(c);
    const out = await deps.consent.grant(c.get('caller'), {
      owner: v.address(b, 'owner'),
      grantee: v.address(b, 'grantee'),
      scope: v.bytes32(b, 'scope'),
      purpose: Number(v.uint(b, 'purpose')),
      expiresAt: v.uint(b, 'expiresAt'),
      signer: v.address(b, 'signer'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      envelope: v.optionalString(b, 'envelope', 4096),
      scopeKeyEnvelope: v.optionalString(b, 'scopeKeyEnvelope', 4096),
    });
    return c.json(out, 201);
  });
  app.post('/v1/grants/revoke', authed, async (c) => {
    const b = await body(c);
    const out = await deps.consent.revoke(c.get('caller'), {
      owner: v.address(b, 'owner'),
      grantee: v.address(b, 'grantee'),
      scope: v.bytes32(b, 'scope'),
      purpose: Number(v.uint(b, 'purpose')),
      signer: v.address(b, 'signer'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out);
  });
  app.get('/v1/grants', authed, async (c) => {
    const caller = c.get('caller');
    const owner = c.req.query('owner') ? v.address({ o: c.req.query('owner') }, 'o') : undefined;
    const grantee = c.req.query('grantee') ? v.address({ g: c.req.query('grantee') }, 'g') : undefined;
    if (owner) {
      await deps.consent.requireActsFor(owner, caller);
      return c.json(await deps.consent.list({ owner }));
    }
    if (grantee && grantee !== caller)
      throw new NodeError('FORBIDDEN', 'you may list only grants made to you');
    return c.json(await deps.consent.list({ grantee: caller }));
  });

  app.post('/v1/delegates', authed, async (c) => {
    const b = await body(c);
    const out = await deps.delegation.appoint(c.get('caller'), {
      patient: v.address(b, 'patient'),
      delegate: v.address(b, 'delegate'),
      kind: Number(v.uint(b, 'kind')),
      expiresAt: v.uint(b, 'expiresAt'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      keyEnvelope: v.string(b, 'keyEnvelope', 16384),
    });
    return c.json(out, 201);
  });
  app.post('/v1/delegates/revoke', authed, async (c) => {
    const b = await body(c);
    const out = await deps.delegation.revoke(c.get('caller'), {
      patient: v.address(b, 'patient'),
      delegate: v.address(b, 'delegate'),
      signer: v.address(b, 'signer'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out);
  });
  app.post('/v1/delegates/minor', authed, async (c) => {
    const b = await body(c);
    if (typeof b.minor !== 'boolean') throw new NodeError('INVALID_BODY', '"minor" must be true or false');
    const out = await deps.delegation.setMinor(c.get('caller'), {
      patient: v.address(b, 'patient'),
      minor: b.minor,
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out);
  });
  app.get('/v1/delegates', authed, async (c) => {
    const patient = c.req.query('patient') ? v.address({ p: c.req.query('patient') }, 'p') : undefined;
    const delegate = c.req.query('delegate') ? v.address({ d: c.req.query('delegate') }, 'd') : undefined;
    if (!patient && !delegate) throw new NodeError('BAD_REQUEST', 'give ?patient= or ?delegate=');
    return c.json(
      await deps.delegation.list(c.get('caller'), {
        ...(patient ? { patient } : {}),
        ...(delegate ? { delegate } : {}),
      }),
    );
  });
  app.post('/v1/delegates/key', authed, async (c) => {
    const b = await body(c);
    const out = await deps.delegation.putKey(c.get('caller'), {
      patient: v.address(b, 'patient'),
      delegate: v.address(b, 'delegate'),
      keyEnvelope: v.string(b, 'keyEnvelope', 16384),
    });
    return c.json(out, 201);
  });
  app.get('/v1/delegates/key', authed, async (c) => {
    const patient = v.address({ p: c.req.query('patient') }, 'p');
    return c.json(await deps.delegation.key(c.get('caller'), patient));
  });

  const recoveryKeyOf = (x: unknown) => v.bytes32({ k: x }, 'k');
  app.post('/v1/recovery', authed, async (c) => {
    const b = await body(c);
    const shares = v.array(b, 'shares', 255).map((x, i) => {
      const o = v.object(x, `shares[${i}]`);
      return { guardian: v.address(o, 'guardian'), envelope: v.string(o, 'envelope', 4096) };
    });
    const out = await deps.recovery.setGuardians(c.get('caller'), {
      patient: v.address(b, 'patient'),
      guardiansHash: v.bytes32(b, 'guardiansHash'),
      threshold: Number(v.uint(b, 'threshold')),
      salt: v.bytes32(b, 'salt'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      shares,
    });
    return c.json(out, 201);
  });
  app.get('/v1/recovery/:patient', (c) =>
    c.json(deps.recovery.status(v.address({ p: c.req.param('patient') }, 'p'))),
  );
  app.get('/v1/recovery/:patient/guardians', authed, (c) =>
    c.json(deps.recovery.guardians(c.get('caller'), v.address({ p: c.req.param('patient') }, 'p'))),
  );
  app.post('/v1/recovery/:patient/requests', async (c) => {
    const b = await body(c);
    const patient = v.address({ p: c.req.param('patient') }, 'p');
    return c.json(deps.recovery.request(patient, recoveryKeyOf(b.recoveryKey)), 201);
  });
  app.get('/v1/recovery/:patient/share', authed, (c) =>
    c.json(deps.recovery.share(c.get('caller'), v.address({ p: c.req.param('patient') }, 'p'))),
  );
  app.post('/v1/recovery/:patient/releases', authed, async (c) => {
    const b = await body(c);
    const patient = v.address({ p: c.req.param('patient') }, 'p');
    return c.json(
      deps.recovery.release(
        c.get('caller'),
        patient,
        recoveryKeyOf(b.recoveryKey),
        v.string(b, 'envelope', 4096),
      ),
      201,
    );
  });
  app.get('/v1/recovery/:patient/releases', (c) => {
    const patient = v.address({ p: c.req.param('patient') }, 'p');
    return c.json(deps.recovery.releases(patient, recoveryKeyOf(c.req.query('key'))));
  });

  app.get('/v1/emergency/holders', (c) => c.json(deps.emergency.holders()));
  app.post('/v1/emergency/profile', authed, async (c) => {
    const b = await body(c);
    const shares = v.array(b, 'shares', 255).map((x, i) => {
      const o = v.object(x, `shares[${i}]`);
      return { holder: Number(v.uint(o, 'holder')), envelope: v.string(o, 'envelope', 4096) };
    });
    const out = await deps.emergency.setProfile(c.get('caller'), {
      patient: v.address(b, 'patient'),
      signer: v.address(b, 'signer'),
      sealed: v.string(b, 'sealed', 256 * 1024),
      ownerEnvelope: v.string(b, 'ownerEnvelope', 4096),
      shares,
      threshold: Number(v.uint(b, 'threshold')),
      time: v.uint(b, 'time'),
      signature: v.signature(b),
    });
    return c.json(out, 201);
  });
  app.get('/v1/emergency/profile/:patient', authed, (c) =>
    c.json(deps.emergency.profile(c.get('caller'), v.address({ p: c.req.param('patient') }, 'p'))),
  );
  app.post('/v1/emergency/requests', authed, async (c) => {
    const b = await body(c);
    const out = await deps.emergency.request(c.get('caller'), {
      provider: v.address(b, 'provider'),
      patient: v.address(b, 'patient'),
      reasonHash: v.bytes32(b, 'reasonHash'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
    });
    return c.json(out, 201);
  });
  app.post('/v1/emergency/requests/:id/open', authed, async (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    const header = c.req.header('x-medbloc-access');
    return c.json(
      await deps.emergency.open(c.get('caller'), id, header ? accessRequestOf(header) : undefined),
    );
  });

  app.get('/v1/notifications', authed, (c) => {
    const caller = c.get('caller');
    const since = c.req.query('since');
    const list = deps.notifications.list(caller, caller, since ? Number(v.uint({ s: since }, 's')) : 0);
    return c.json({ notifications: list });
  });

  if (deps.certification) mountCertification(app, deps.certification, { authed, body });

  app.get('/v1/audit', authed, (c) => {
    const caller = c.get('caller');
    const owner = c.req.query('owner') ? v.address({ o: c.req.query('owner') }, 'o') : caller;
    return c.json(deps.audit.log(caller, owner));
  });

  return app;
}

/** The `x-medbloc-access` header: base64url JSON of the requester's signed AccessRequest. */
function accessRequestOf(header: string): SignedAccessRequest {
  let o: Record<string, unknown>;
  try {
    o = v.object(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), 'x-medbloc-access');
  } catch (err) {
    throw new NodeError(
      'RECEIPT_INVALID',
      `x-medbloc-access is not base64url JSON: ${(err as Error).message}`,
    );
  }
  const time = Number(v.uint(o, 'time'));
  const purpose = Number(v.uint(o, 'purpose'));
  if (purpose < 1 || purpose > 3)
    throw new NodeError('RECEIPT_INVALID', 'purpose must be care (1), research (2) or emergency (3)');
  const base = {
    requester: v.address(o, 'requester'),
    owner: v.address(o, 'owner'),
    record: v.bytes32(o, 'record'),
    purpose,
    time,
  };
  if (o.key === undefined) return { ...base, signature: v.signature(o) };
  // Signed by the session's Ed25519 access key: a 32-byte key and a 64-byte signature.
  const key = v.bytes32(o, 'key');
  if (typeof o.signature !== 'string' || !/^0x[0-9a-fA-F]{128}$/.test(o.signature))
    throw new NodeError(
      'RECEIPT_INVALID',
      '"signature" must be a 64-byte Ed25519 signature when "key" is given',
    );
  return { ...base, key, signature: o.signature as `0x${string}` };
}

/** Streams a ciphertext; the first chunk is pulled before answering, so a missing or (small) corrupted blob becomes a
 * proper problem rather than a broken 200. */
async function streamResponse(stream: AsyncIterable<Uint8Array>, headers: Record<string, string>) {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done) controller.close();
      else controller.enqueue(first.value);
    },
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(first.done ? null : body, {
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
}
