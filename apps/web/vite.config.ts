/**
 * Builds the MedBloc web portals into dist/, served by the node (packages/node/src/web.ts) from the API's origin.
 * The SDK and the browser-safe core are bundled from their TypeScript sources.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { crypto: fileURLToPath(new URL('./src/lib/node-crypto-shim.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
  },
  server: {
    // `npm run dev -w apps/web` against a node on the default port.
    proxy: Object.fromEntries(
      ['/v1', '/health', '/openapi.json'].map((p) => [p, process.env.MEDBLOC_NODE ?? 'http://127.0.0.1:7400']),
    ),
  },
});
