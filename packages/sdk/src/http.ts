/** A small JSON-over-HTTP transport to a MedBloc node, turning problem documents into MedblocApiError. */
import { MedblocApiError, NodeUnreachableError } from './errors.ts';

export type Fetch = typeof globalThis.fetch;

export interface Transport {
  base: string;
  /** Streams `source` as the request body with backpressure (constant memory); returns the JSON answer. */
  upload<T>(path: string, source: AsyncIterable<Uint8Array>, token: string): Promise<T>;
  json<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  raw(
    method: string,
    path: string,
    init: { body?: BodyInit | null; token?: string; headers?: Record<string, string> },
  ): Promise<Response>;
}

export function createTransport(node: string, fetchImpl: Fetch = globalThis.fetch): Transport {
  const base = node.replace(/\/+$/, '');
  async function raw(
    method: string,
    path: string,
    init: { body?: BodyInit | null; token?: string; headers?: Record<string, string> },
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let res: Response;
    const send = () =>
      fetchImpl(`${base}${path}`, {
        method,
        headers,
        body: init.body ?? null,
        ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    try {
      res = await send();
    } catch (err) {
      // A kept-alive connection the node has just closed fails at once; a request that changes nothing
      // (or whose body can be sent again) is retried once on a fresh connection.
      const retryable =
        (method === 'GET' || typeof init.body === 'string' || init.body == null) && isReset(err);
      if (!retryable) throw new NodeUnreachableError(base, err);
      try {
        res = await send();
      } catch (again) {
        throw new NodeUnreachableError(base, again);
      }
    }
    if (!res.ok) throw await problemOf(res);
    return res;
  }
  /**
   * Node's fetch reads a streamed request body as fast as it can produce it, whatever the socket takes, so a
   * multi-gigabyte upload would be held in memory; in Node we stream through node:http, which honours backpressure.
   */
  async function upload<T>(path: string, source: AsyncIterable<Uint8Array>, token: string): Promise<T> {
    const nodeHttp = typeof process !== 'undefined' ? process.getBuiltinModule?.('node:http') : undefined;
    if (!nodeHttp || fetchImpl !== globalThis.fetch) {
      // Browsers send a streamed request body only over HTTP/2; collect the ciphertext into a Blob (which the
      // browser may keep on disk) and send that.
      const parts: BlobPart[] = [];
      for await (const piece of source) parts.push(piece.slice() as unknown as BlobPart);
      const res = await raw('POST', path, {
        body: new Blob(parts, { type: 'application/octet-stream' }),
        token,
        headers: { 'content-type': 'application/octet-stream' },
      });
      return (await res.json()) as T;
    }
    const { Readable } = process.getBuiltinModule('node:stream');
    return new Promise<T>((resolve, reject) => {
      const req = nodeHttp.request(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      });
      req.on('error', (err) => reject(new NodeUnreachableError(base, err)));
      req.on('response', async (res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(JSON.parse(text) as T);
        else reject(problemFromText(text, status, res.statusMessage ?? ''));
      });
      const body = Readable.from(source, { objectMode: false });
      body.on('error', (err) => {
        req.destroy(err);
        reject(err);
      });
      body.pipe(req);
    });
  }

  return {
    base,
    upload,
    raw,
    async json<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
      const init: { body?: string; token?: string; headers: Record<string, string> } = {
        headers: { accept: 'application/json' },
      };
      if (body !== undefined) {
        init.body = toJson(body);
        init.headers['content-type'] = 'application/json';
      }
      if (token) init.token = token;
      const res = await raw(method, path, init);
      return (await res.json()) as T;
    },
  };
}

function isReset(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE';
}

async function problemOf(res: Response): Promise<MedblocApiError> {
  return problemFromText(await res.text().catch(() => ''), res.status, res.statusText);
}

function problemFromText(text: string, status: number, statusText: string): MedblocApiError {
  try {
    const p = JSON.parse(text) as { code?: string; detail?: string; details?: Record<string, unknown> };
    return new MedblocApiError(p.code ?? 'HTTP_ERROR', status, p.detail ?? statusText, p.details);
  } catch {
    return new MedblocApiError('HTTP_ERROR', status, `${status} ${statusText}`);
  }
}

/**
 * JSON text of a request body, bigints as decimal strings. Plain JSON.stringify first: a replacer is called for every
 * value, which on a bulk ingest's thousand-record bodies costs more than the stringifying itself.
 */
function toJson(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
}
