/**
 * Build step: compiles contracts/src/*.sol offline and writes contracts/src/generated/artifacts.ts (ABIs typed for
 * viem, creation bytecode, source hash). Run with `npm run build:contracts`; commit the generated file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ARTIFACTS_FILE, compileContracts, renderArtifacts } from './solc.ts';

const started = performance.now();
const compilation = compileContracts();
for (const w of compilation.warnings) console.warn(w);
mkdirSync(path.dirname(ARTIFACTS_FILE), { recursive: true });
writeFileSync(ARTIFACTS_FILE, renderArtifacts(compilation));
const names = compilation.contracts.map((c) => `${c.name} (${(c.bytecode.length - 2) / 2} bytes)`).join(', ');
console.log(
  `compiled ${names} with solc ${compilation.compilerVersion} in ${Math.round(performance.now() - started)} ms`,
);
console.log(`wrote ${path.relative(process.cwd(), ARTIFACTS_FILE)}`);
