/**
 * The FHIR gateway's HTTP edge: a Hono sub-app (mount it at `/fhir`) that turns requests into FhirHttpRequests for
 * the transport-agnostic core and serialises what comes back.
 */
import { type Context, Hono } from 'hono';
import type { FhirGatewayCore, FhirHttpRequest } from './gateway.ts';

/**
 * @example
 * const app = new Hono();
 * app.route('/fhir', fhirApp(core));
 */
export function fhirApp(core: Pick<FhirGatewayCore, 'handle'>): Hono {
  const app = new Hono();
  const handler = async (c: Context) => {
    const url = new URL(c.req.url);
    const prefix = c.req.routePath.replace(/\/?(:path\{\.[*+]\}|\*)?$/, '');
    const rest = url.pathname.slice(prefix.length).replace(/^\/+/, '');
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : [prev, v].flat();
    }
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => {
      headers[k] = v;
    });
    const method = c.req.method;
    const req: FhirHttpRequest = {
      method,
      path: decodeURIComponent(rest),
      query,
      headers,
      baseUrl: `${url.origin}${prefix}`,
      ...(method === 'GET' || method === 'HEAD' ? {} : { body: await c.req.text() }),
    };
    const res = await core.handle(req);
    const accept = headers.accept ?? '';
    const out = { ...res.headers };
    if (res.stream)
      return new Response(method === 'HEAD' ? null : toStream(res.stream), {
        status: res.status,
        headers: out,
      });
    if (res.text !== undefined)
      return new Response(method === 'HEAD' ? null : res.text, { status: res.status, headers: out });
    if (res.body && /application\/json/.test(accept) && !/fhir\+json/.test(accept))
      out['content-type'] = 'application/json; charset=utf-8';
    const payload = res.body && method !== 'HEAD' ? JSON.stringify(res.body) : null;
    return new Response(payload, { status: res.status, headers: out });
  };
  app.all('/', handler);
  app.all('/:path{.*}', handler);
  return app;
}

/** Pulls the next piece only when the client has taken the last one, so a large export never builds up in memory. */
function toStream(pieces: AsyncIterable<string>): ReadableStream<Uint8Array> {
  const it = pieces[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await it.return?.();
    },
  });
}
