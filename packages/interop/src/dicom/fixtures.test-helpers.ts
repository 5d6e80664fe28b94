/** Shared by the DICOM tests: the fixture files and their dcm2json reference dumps. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { DicomJson } from './values.ts';

export const fixtures = new URL('../../../../../shared/fixtures/dicom/', import.meta.url);

export interface Fixture {
  dir: string;
  name: string;
  bytes: Uint8Array;
}

export const dicomFixtures: Fixture[] = ['dev', 'more'].flatMap((dir) =>
  readdirSync(new URL(`${dir}/`, fixtures))
    .sort()
    .map((name) => ({ dir, name, bytes: new Uint8Array(readFileSync(new URL(`${dir}/${name}`, fixtures))) })),
);

/** no_meta.dcm is CT_small.dcm's data set without preamble and meta header (pydicom test files README). */
const referenceOf = (dir: string, name: string) =>
  name === 'no_meta.dcm' ? 'dev-CT_small' : `${dir}-${name.replace(/\.dcm$/, '')}`;

/** dcm2json's output for a fixture, or undefined when dcmtk made none. */
export function expectedJson(dir: string, name: string): DicomJson | undefined {
  const url = new URL(`expected/dcmtk/${referenceOf(dir, name)}.json`, fixtures);
  if (!existsSync(url)) return undefined;
  // dcm2json leaves a trailing comma where it skips encapsulated pixel data.
  return JSON.parse(readFileSync(url, 'utf8').replace(/,(\s*})/g, '$1')) as DicomJson;
}
