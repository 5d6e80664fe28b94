/** A small JSON-over-HTTP transport to a MedBloc node, turning problem documents into MedblocApiError. */
import { MedblocApiError, NodeUnreachableError } from './errors.ts';

export type Fetch = typeof globalThis.fetch;

export interface Transport {
  base: string;
  json<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  raw(method: string, path: string, init: { body?: BodyInit | null; token?: string; headers?: Record<string, string> }): Promise<Response>;
}

export function createTransport(node: string, fetchImpl: Fetch = globalThis.fetch): Transport {
  const base = node.replace(/\/+$/, '');
  async function raw(method: string, path: string, init: { body?: BodyInit | null; token?: string; headers?: Record<string, string> }) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        body: init.body ?? null,
        ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw new NodeUnreachableError(base, err);
    }
    if (!res.ok) throw await problemOf(res);
    return res;
  }
  return {
    base,
    raw,
    async json<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
      const init: { body?: string; token?: string; headers: Record<string, string> } = { headers: { accept: 'application/json' } };
      if (body !== undefined) {
        init.body = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
        init.headers['content-type'] = 'application/json';
      }
      if (token) init.token = token;
      const res = await raw(method, path, init);
      return (await res.json()) as T;
    },
  };
}

async function problemOf(res: Response): Promise<MedblocApiError> {
  const text = await res.text().catch(() => '');
  try {
    const p = JSON.parse(text) as { code?: string; detail?: string; details?: Record<string, unknown> };
    return new MedblocApiError(p.code ?? 'HTTP_ERROR', res.status, p.detail ?? res.statusText, p.details);
  } catch {
    return new MedblocApiError('HTTP_ERROR', res.status, `${res.status} ${res.statusText}`);
  }
}
