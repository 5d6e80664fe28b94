/**
 * The HTTP edge: parses requests, calls the transport-agnostic services, serialises results. Every error leaves as
 * an RFC 9457 problem (`application/problem+json`) with a stable `code`.
 */
import { type Context, Hono } from 'hono';
import type { Address } from 'viem';
import { NodeError, toProblem } from '../errors.ts';
import type { AccountsService } from '../service/accounts.ts';
import type { AuthService } from '../service/auth.ts';
import type { BlobsService } from '../service/blobs.ts';
import type { RecordsService } from '../service/records.ts';
import * as v from '../validate.ts';
import { openApiDocument } from './openapi.ts';

export interface AppDeps {
  auth: AuthService;
  accounts: AccountsService;
  records: RecordsService;
  blobs: BlobsService;
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
    return c.json(await deps.accounts.nonces(v.address({ a: c.req.param('address') }, 'a')));
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
      };
    });
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
    });
    return c.json(out, 201);
  });
  app.get('/v1/records', authed, (c) => {
    const caller = c.get('caller');
    const owner = c.req.query('owner') ? v.address({ o: c.req.query('owner') }, 'o') : caller;
    const limit = c.req.query('limit');
    return c.json(
      deps.records.list(caller, owner, {
        after: c.req.query('after'),
        limit: limit ? Number(limit) : undefined,
      }),
    );
  });
  app.get('/v1/records/:id', authed, (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    return c.json(deps.records.get(c.get('caller'), id));
  });
  app.get('/v1/records/:id/content', authed, async (c) => {
    const id = v.bytes32({ id: c.req.param('id') }, 'id');
    const { cid, stream } = deps.records.content(c.get('caller'), id);
    const iterator = stream[Symbol.asyncIterator]();
    // Pull the first chunk before answering, so a missing or (small) corrupted blob becomes a proper problem.
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
      headers: { 'content-type': 'application/octet-stream', 'x-medbloc-cid': cid.toString() },
    });
  });

  return app;
}
