/**
 * FHIR R4 REST for one identity held by this process: `createFhirGateway({ client })` gives a Hono app to mount at
 * `/fhir`, a `ready` promise (the identity's records loaded from the ledger) and `stop()`.
 */
import type { Hono } from 'hono';
import { createFhirGatewayCore, type FhirGatewayCore, type FhirGatewayOptions } from './gateway.ts';
import { fhirApp } from './http.ts';

export type { FhirGatewayCore, FhirGatewayOptions, FhirHttpRequest, FhirHttpResponse } from './gateway.ts';
export { createFhirGatewayCore } from './gateway.ts';
export { fhirApp } from './http.ts';

export interface FhirGateway extends FhirGatewayCore {
  /** Routes relative to the FHIR base: mount with `app.route('/fhir', gateway.app)`. */
  app: Hono;
}

/**
 * @example
 * const fhir = createFhirGateway({ client: createClient({ node: url, identity }) });
 * app.route('/fhir', fhir.app);
 * await fhir.ready;
 */
export function createFhirGateway(opts: FhirGatewayOptions): FhirGateway {
  const core = createFhirGatewayCore(opts);
  return { ...core, app: fhirApp(core) };
}
