/**
 * Serves the built web portals (apps/web/dist) from the node's own origin, so the page, the API and the SDK it runs
 * share one origin. Static files with content types and caching (hashed assets are immutable), and the SPA fallback
 * to index.html for any other page path. API prefixes never fall back: an unknown API path stays a 404 problem.
 *
 * @example
 * app.route('/', createWebApp({ dist: fileURLToPath(new URL('../../../apps/web/dist', import.meta.url)) }));
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type Context, Hono } from 'hono';

export interface WebAppOptions {
  /** Directory of the built web app (index.html and assets/). */
  dist: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Paths that belong to the API: never answered with the app's index.html. */
const API_PREFIXES = ['/v1/', '/fhir', '/health', '/openapi.json'];

/**
 * The page talks to its own origin and to the chain's JSON-RPC endpoint (to check anchors itself), which may be
 * another origin; it runs no inline script and is never framed.
 */
const CSP = [
  "default-src 'self'",
  // WebAssembly may be compiled (hash-wasm's SHA-256 and Keccak, several times faster than JavaScript on a large
  // upload); JavaScript from strings still may not.
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self' http: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

async function fileAt(file: string) {
  try {
    const s = await stat(file);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

export function createWebApp(options: WebAppOptions): Hono {
  const root = path.resolve(options.dist);
  const index = path.join(root, 'index.html');
  const app = new Hono();

  async function send(c: Context, file: string, size: number, immutable: boolean) {
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string> = {
      'content-type': type,
      'content-length': String(size),
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    if (type.startsWith('text/html')) {
      headers['content-security-policy'] = CSP;
      headers['x-frame-options'] = 'DENY';
    }
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, headers);
  }

  app.on(['GET', 'HEAD'], '*', async (c) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return c.text('Bad request', 400);
    }
    if (API_PREFIXES.some((p) => pathname === p.replace(/\/$/, '') || pathname.startsWith(p)))
      return c.notFound();
    const file = path.resolve(root, `.${pathname}`);
    // Never serve anything outside dist (../ or encoded traversal), nor dotfiles.
    const inside = file === root || file.startsWith(root + path.sep);
    if (inside && !pathname.split('/').some((seg) => seg.startsWith('.'))) {
      const s = await fileAt(file);
      if (s) return send(c, file, s.size, pathname.startsWith('/assets/'));
    }
    // A missing asset is a 404; any other path is a page of the app.
    if (pathname.startsWith('/assets/') || path.extname(pathname) !== '')
      return c.text('Not found', 404, { 'content-type': 'text/plain; charset=utf-8' });
    const s = await fileAt(index);
    if (!s)
      return c.text('The MedBloc web app is not built. Run `npm run build:web`, then reload.', 503, {
        'content-type': 'text/plain; charset=utf-8',
      });
    return send(c, index, s.size, false);
  });

  return app;
}
