/**
 * A FHIR gateway for one identity on its own HTTP server, mounted at /fhir as the node mounts it, with a small
 * fetch helper. Shared by the FHIR client, export and SMART integration tests.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { MedblocClient } from '@medbloc/sdk';
import type { Bundle } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { createFhirGateway, type FhirGatewayOptions } from '../../packages/node/src/fhir/index.ts';
import { FIXTURES } from './harness.ts';

export async function mountGateway(client: MedblocClient, opts: Omit<FhirGatewayOptions, 'client'> = {}) {
  const gateway = createFhirGateway({ client, ...opts });
  const app = new Hono();
  app.route('/fhir', gateway.app);
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${origin}/fhir`;
  await gateway.ready;
  return {
    gateway,
    origin,
    base,
    /** fetch relative to the FHIR base (or an absolute URL). */
    fetch(url: string, init: RequestInit = {}) {
      return fetch(url.startsWith('http') ? url : `${base}/${url}`, init);
    },
    async close() {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop();
    },
  };
}

/** One Synthea patient's transaction bundle from the shared fixtures. */
export async function syntheaBundle(prefix = 'Antonio_Carmona'): Promise<Bundle> {
  const dir = path.join(FIXTURES, 'fhir/synthea');
  const file = (await readdir(dir)).find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no Synthea fixture starting with ${prefix}`);
  return JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Bundle;
}

/** Resource counts per type in a bundle's entries. */
export function countsOf(bundle: Bundle): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of bundle.entry ?? []) {
    const type = e.resource?.resourceType as string;
    out[type] = (out[type] ?? 0) + 1;
  }
  return out;
}
