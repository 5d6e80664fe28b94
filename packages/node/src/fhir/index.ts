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
export type { SmartAccess, SmartOptions } from './smart.ts';

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

/** A FHIR app mounted before its gateway exists (the gateway's SDK client needs the node's own URL, known only
 * once the server listens); it answers 503 with an OperationOutcome until `start`. */
export interface DeferredFhirGateway {
  app: Hono;
  start(opts: FhirGatewayOptions): FhirGateway;
  stop(): Promise<void>;
}

/**
 * @example
 * const fhir = createDeferredFhirGateway();
 * app.route('/fhir', fhir.app);            // before serve()
 * // ...after listen, with the node's URL:
 * fhir.start({ client: createClient({ node: url, identity }), log });
 */
export function createDeferredFhirGateway(): DeferredFhirGateway {
  let gateway: FhirGateway | undefined;
  const app = fhirApp({
    handle: async (req) =>
      gateway
        ? gateway.handle(req)
        : {
            status: 503,
            headers: { 'content-type': 'application/fhir+json; charset=utf-8' },
            body: {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'error', code: 'transient', diagnostics: 'the FHIR gateway is starting' }],
            },
          },
  });
  return {
    app,
    start(opts) {
      gateway = createFhirGateway(opts);
      return gateway;
    },
    async stop() {
      await gateway?.stop();
    },
  };
}
