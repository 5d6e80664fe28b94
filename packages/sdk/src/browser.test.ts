/**
 * The SDK must run in browsers: it bundles for the browser platform with no Node built-in left to resolve, and the
 * bundle, loaded as a module, creates identities, seals and opens records with WebCrypto.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

test('the SDK bundles for browsers without Node built-ins', async () => {
  const result = await build({
    stdin: {
      contents: `export * from '@medbloc/sdk'; export { generateMnemonic, identityFromMnemonic, sealBytes, openBytes, generateDataKey } from '@medbloc/core/portable';`,
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
      loader: 'ts',
    },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  assert.ok(!/from\s*["']node:/.test(code), 'no node: imports remain');
  assert.ok(!/require\(["'](fs|path|crypto)["']\)/.test(code), 'no CommonJS Node built-ins remain');
  // Load the browser bundle as a module and use it.
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as {
    createClient: unknown;
    identityFromMnemonic: (m: string) => { address: string };
    generateMnemonic: () => string;
    generateDataKey: () => Uint8Array;
    sealBytes: (b: Uint8Array, k: Uint8Array) => Promise<Uint8Array>;
    openBytes: (b: Uint8Array, k: Uint8Array) => Promise<Uint8Array>;
  };
  assert.equal(typeof mod.createClient, 'function');
  assert.match(mod.identityFromMnemonic(mod.generateMnemonic()).address, /^0x[0-9a-fA-F]{40}$/);
  const key = mod.generateDataKey();
  const plain = new TextEncoder().encode('blood type O-');
  const sealed = await mod.sealBytes(plain, key);
  assert.deepEqual(await mod.openBytes(sealed, key), plain);
});
