/**
 * HTTP routes of certification: status, peer-review cases, relayed application/commit/reveal/finalize/stake, the
 * sealed evidence for a case's reviewers, the council's view, and the development faucet. Parsing only; the
 * certification service decides.
 */
import type { Context, Hono } from 'hono';
import type { Address } from 'viem';
import { NodeError } from '../errors.ts';
import type { ApplicationStatus, CertificationService } from '../service/certification.ts';
import * as v from '../validate.ts';

type Env = { Variables: { caller: Address } };

const STATUSES = ['pending', 'approved', 'rejected', 'no-quorum'];

export function mountCertification(
  app: Hono<Env>,
  certification: CertificationService,
  helpers: {
    authed: (c: Context<Env>, next: () => Promise<void>) => Promise<void>;
    body: (c: Context) => Promise<Record<string, unknown>>;
  },
) {
  const { authed, body } = helpers;
  const idOf = (c: Context) => v.uint({ id: c.req.param('id') }, 'id');
  const addressParam = (c: Context) => v.address({ address: c.req.param('address') }, 'address');
  const query = (c: Context, key: string) => {
    const q = c.req.query(key);
    return q ? v.address({ [key]: q }, key) : undefined;
  };

  app.get('/v1/certification/status/:address', async (c) =>
    c.json(await certification.status(addressParam(c))),
  );
  app.get('/v1/certification/parameters', async (c) => c.json(await certification.parameters()));
  app.get('/v1/certification/council/proposals', async (c) =>
    c.json({ proposals: await certification.proposals() }),
  );
  app.get('/v1/certification/nonces/:address', async (c) =>
    c.json(await certification.nonces(addressParam(c))),
  );
  app.get('/v1/certification/balances/:address', async (c) =>
    c.json(await certification.balances(addressParam(c))),
  );

  /** The optional EIP-2612 permit for a bond: `{ deadline, v, r, s }`. */
  const permitOf = (b: Record<string, unknown>) => {
    if (b.permit === undefined || b.permit === null) return undefined;
    const p = v.object(b.permit, 'permit');
    const vv = Number(v.uint(p, 'v'));
    if (vv !== 27 && vv !== 28) throw new NodeError('INVALID_BODY', '"permit.v" must be 27 or 28');
    return { deadline: v.uint(p, 'deadline'), v: vv, r: v.bytes32(p, 'r'), s: v.bytes32(p, 's') };
  };

  app.post('/v1/certification/applications', authed, async (c) => {
    const b = await body(c);
    const permit = permitOf(b);
    const out = await certification.apply(c.get('caller'), {
      candidate: v.address(b, 'candidate'),
      role: Number(v.uint(b, 'role')),
      credentialHash: v.bytes32(b, 'credentialHash'),
      evidencePointer: v.bytes32(b, 'evidencePointer'),
      bond: v.uint(b, 'bond'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      permit,
      evidenceEnvelope: v.string(b, 'evidenceEnvelope', 4096),
    });
    return c.json(out, 201);
  });
  app.post('/v1/certification/challenges', authed, async (c) => {
    const b = await body(c);
    const out = await certification.challenge(c.get('caller'), {
      challenger: v.address(b, 'challenger'),
      subject: v.address(b, 'subject'),
      role: Number(v.uint(b, 'role')),
      evidenceHash: v.bytes32(b, 'evidenceHash'),
      bond: v.uint(b, 'bond'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      permit: permitOf(b),
      evidenceEnvelope: v.string(b, 'evidenceEnvelope', 4096),
    });
    return c.json(out, 201);
  });
  app.post('/v1/certification/applications/:id/appeal', authed, async (c) => {
    const b = await body(c);
    const out = await certification.appeal(c.get('caller'), {
      applicationId: idOf(c),
      appellant: v.address(b, 'appellant'),
      bond: v.uint(b, 'bond'),
      nonce: v.uint(b, 'nonce'),
      deadline: v.uint(b, 'deadline'),
      signature: v.signature(b),
      permit: permitOf(b),
    });
    return c.json(out, 201);
  });
  app.post('/v1/certification/applications/:id/draw', async (c) => c.json(await certification.draw(idOf(c))));
  app.get('/v1/certification/applications', async (c) => {
    const status = c.req.query('status');
    if (status && !STATUSES.includes(status))
      throw new NodeError('BAD_REQUEST', `status must be one of ${STATUSES.join(', ')}`);
    const candidate = query(c, 'candidate');
    const reviewer = query(c, 'reviewer');
    return c.json(
      await certification.applications({
        ...(status ? { status: status as ApplicationStatus } : {}),
        ...(candidate ? { candidate } : {}),
        ...(reviewer ? { reviewer } : {}),
      }),
    );
  });
  app.get('/v1/certification/applications/:id', async (c) =>
    c.json(await certification.application(idOf(c))),
  );
  app.post('/v1/certification/applications/:id/evidence', authed, async (c) => {
    const b = await body(c);
    const envelopes = v.array(b, 'envelopes', 64).map((x, i) => {
      const o = v.object(x, `envelopes[${i}]`);
      return { reader: v.address(o, 'reader'), envelope: v.string(o, 'envelope', 4096) };
    });
    return c.json(await certification.shareEvidence(c.get('caller'), idOf(c), envelopes), 201);
  });
  app.get('/v1/certification/applications/:id/evidence', authed, async (c) =>
    c.json(await certification.evidence(c.get('caller'), idOf(c))),
  );
  app.get('/v1/certification/applications/:id/evidence/content', authed, async (c) => {
    const { cid, stream } = await certification.evidenceContent(c.get('caller'), idOf(c));
    const iterator = stream[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
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
    return new Response(body, {
      headers: { 'content-type': 'application/octet-stream', 'x-medbloc-cid': cid },
    });
  });
  app.post('/v1/certification/applications/:id/commit', async (c) => {
    const b = await body(c);
    return c.json(
      await certification.commit({
        applicationId: idOf(c),
        reviewer: v.address(b, 'reviewer'),
        commitment: v.bytes32(b, 'commitment'),
        nonce: v.uint(b, 'nonce'),
        deadline: v.uint(b, 'deadline'),
        signature: v.signature(b),
      }),
    );
  });
  app.post('/v1/certification/applications/:id/reveal', async (c) => {
    const b = await body(c);
    if (typeof b.approve !== 'boolean')
      throw new NodeError('INVALID_BODY', '"approve" must be true or false');
    return c.json(
      await certification.reveal({
        applicationId: idOf(c),
        reviewer: v.address(b, 'reviewer'),
        approve: b.approve,
        salt: v.bytes32(b, 'salt'),
      }),
    );
  });
  app.post('/v1/certification/applications/:id/finalize', async (c) =>
    c.json(await certification.finalize(idOf(c))),
  );
  app.post('/v1/certification/stake', async (c) => {
    const b = await body(c);
    return c.json(
      await certification.stake({
        holder: v.address(b, 'holder'),
        amount: v.uint(b, 'amount'),
        nonce: v.uint(b, 'nonce'),
        deadline: v.uint(b, 'deadline'),
        signature: v.signature(b),
      }),
    );
  });
  app.post('/v1/dev/faucet', async (c) => {
    const b = await body(c);
    const med = b.med === undefined ? '100' : String(b.med);
    return c.json(await certification.faucet(v.address(b, 'account'), med));
  });
}
