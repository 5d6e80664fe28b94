#!/usr/bin/env -S node --max-semi-space-size=2
// (A CLI streams gigabytes through small buffers: a small young generation keeps its memory flat.)
// MedBloc CLI entry: checks the runtime, quiets node:sqlite's experimental notice, then loads the TypeScript CLI.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`medbloc: error: Node.js 22.18 or newer is required (this is ${process.version}); run it through npm (npx medbloc / npm start), which uses the project's Node 22`);
  process.exit(1);
}
const emit = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (/SQLite is an experimental feature/.test(String(text))) return;
  return emit.call(process, warning, ...rest);
};
await import('../src/main.ts');
