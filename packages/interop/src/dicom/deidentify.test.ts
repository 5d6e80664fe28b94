import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deidentifyDicom } from './deidentify.ts';
import { isPrivateTag } from './dictionary.ts';
import { dicomFixtures, expectedJson } from './fixtures.test-helpers.ts';
import type { DicomItem } from './model.ts';
import { parseDicom } from './parse.ts';
import type { DicomJson, PersonName } from './values.ts';
import { dicomString } from './values.ts';
import { writeDicom } from './write.ts';

const IDENTIFYING_TAGS = new Set(['00100020', '00101000']); // Patient ID, Other Patient IDs
const utf8 = new TextEncoder();

/** Patient names and IDs in a dcm2json dump, at every depth, as text. */
function identifiersInDump(json: DicomJson, out: Set<string>): Set<string> {
  for (const [tag, element] of Object.entries(json)) {
    for (const value of element.Value ?? []) {
      if (element.vr === 'SQ') identifiersInDump(value as DicomJson, out);
      else if (element.vr === 'PN') {
        for (const group of Object.values(value as PersonName)) {
          out.add(group);
          for (const part of group.split('^')) out.add(part);
        }
      } else if (IDENTIFYING_TAGS.has(tag.toUpperCase()) && typeof value === 'string') out.add(value);
    }
  }
  return out;
}

/** The raw bytes (in the file's own character set) of names and IDs (or of private values), at every depth. */
function rawValues(
  item: DicomItem,
  pick: (tag: string, vr: string) => boolean,
  out: Uint8Array[],
): Uint8Array[] {
  for (const element of item.elements.values()) {
    for (const child of element.items ?? []) rawValues(child, pick, out);
    if (element.value !== undefined && pick(element.tag, element.vr)) out.push(trim(element.value));
  }
  return out;
}

function withoutPrivate(item: DicomItem): DicomItem {
  const elements = new Map(
    [...item.elements]
      .filter(([tag]) => !isPrivateTag(tag))
      .map(([tag, e]) => [tag, e.items ? { ...e, items: e.items.map(withoutPrivate) } : e]),
  );
  return { ...item, elements };
}

function trim(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0)) end--;
  return bytes.subarray(0, end);
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0;
}

function privateTags(item: DicomItem): string[] {
  return [...item.elements.values()].flatMap((e) => [
    ...(isPrivateTag(e.tag) ? [e.tag] : []),
    ...(e.items ?? []).flatMap(privateTags),
  ]);
}

for (const { dir, name, bytes } of dicomFixtures.filter((f) => f.name !== 'MR_truncated.dcm')) {
  test(`${dir}/${name}: de-identified output parses and holds no patient name, ID or private value`, () => {
    const original = parseDicom(bytes);
    const output = deidentifyDicom(bytes);
    const result = parseDicom(output);
    // Search the plain data set even when the file is deflated.
    const plain = writeDicom({ ...result, deflated: false });
    // Values only private attributes carried (a private value may also be, say, the manufacturer: those stay).
    const standardOnly = writeDicom({ ...original, ...withoutPrivate(original), deflated: false });
    const privateValues = rawValues(original, (tag) => isPrivateTag(tag), []).filter(
      (v) => !contains(standardOnly, v),
    );
    const needles = [
      ...[...identifiersInDump(expectedJson(dir, name) ?? {}, new Set())].map((s) => utf8.encode(s.trim())),
      ...rawValues(original, (tag, vr) => vr === 'PN' || IDENTIFYING_TAGS.has(tag), []),
      ...privateValues,
    ].filter((n) => n.length >= 4);
    assert.ok(needles.length > 0, 'every fixture has names, IDs or private values to look for');
    for (const needle of needles) {
      assert.ok(!contains(plain, needle), `found ${JSON.stringify(Buffer.from(needle).toString('latin1'))}`);
    }
    assert.deepEqual(privateTags(result), []);
    assert.equal(dicomString(result, 'PatientIdentityRemoved'), 'YES');
    assert.match(dicomString(result, 'DeidentificationMethod') ?? '', /PS3\.15/);
    assert.equal(result.transferSyntaxUID, original.transferSyntaxUID);
    // UIDs are replaced, consistently between the data set and the meta header.
    const sop = dicomString(original, 'SOPInstanceUID');
    if (sop !== undefined) {
      const newSop = dicomString(result, 'SOPInstanceUID') ?? '';
      assert.notEqual(newSop, sop);
      assert.match(newSop, /^2\.25\.\d+$/);
      const metaUid = (ds: typeof result) =>
        Buffer.from(ds.meta.get('00020003')?.value ?? [])
          .toString('latin1')
          .replace(/\0$/, '');
      // rtplan.dcm's meta header names another instance than its data set: the mapping keeps that as it was.
      if (original.meta.size === 0 || metaUid(original) === sop) assert.equal(metaUid(result), newSop);
      else assert.notEqual(metaUid(result), metaUid(original));
    }
    assert.equal(dicomString(result, 'SOPClassUID'), dicomString(original, 'SOPClassUID'));
    assert.equal(dicomString(result, 'StudyDate'), undefined);
    assert.equal(dicomString(result, 'PatientBirthDate'), undefined);
    // Pixel data is untouched.
    const pixels = (item: DicomItem) => {
      const e = item.elements.get('7FE00010');
      return e?.value ?? e?.fragments?.map((f) => Buffer.from(f).toString('hex')).join();
    };
    assert.deepEqual(pixels(result), pixels(original));
  });
}

test('UID replacement is deterministic: the same study keeps one new UID across files and runs', () => {
  const mr = dicomFixtures.filter((f) => /^MR_small(_implicit|_bigendian)?\.dcm$/.test(f.name));
  const studies = mr.map((f) => dicomString(parseDicom(deidentifyDicom(f.bytes)), 'StudyInstanceUID'));
  assert.equal(new Set(studies).size, 1);
  const again = dicomString(
    parseDicom(deidentifyDicom(mr[0]?.bytes ?? new Uint8Array())),
    'StudyInstanceUID',
  );
  assert.equal(again, studies[0]);
  const otherKey = dicomString(
    parseDicom(deidentifyDicom(mr[0]?.bytes ?? new Uint8Array(), { uidKey: 'k2' })),
    'StudyInstanceUID',
  );
  assert.notEqual(otherKey, studies[0]);
});
