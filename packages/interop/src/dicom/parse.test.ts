import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DicomError } from './errors.ts';
import { dicomFixtures, expectedJson, fixtures } from './fixtures.test-helpers.ts';
import { parseDicom } from './parse.ts';
import type { DicomJson, DicomValue } from './values.ts';
import { dicomString, toDicomJson } from './values.ts';

const files = dicomFixtures;

/** Compare our JSON model with dcm2json's, element by element, recursing into sequences; returns mismatches. */
function compare(
  expected: DicomJson,
  actual: DicomJson,
  path: string,
  bigEndian: boolean,
  out: string[],
): number {
  let compared = 0;
  for (const [tag, want] of Object.entries(expected)) {
    const got = actual[tag.toUpperCase()];
    const where = `${path}${tag}`;
    if (got === undefined) {
      out.push(`${where}: missing`);
      continue;
    }
    compared++;
    // dcm2json transcodes text to UTF-8 and says so in Specific Character Set; we report the file's own terms.
    if (tag === '00080005') continue;
    if (want.vr === 'SQ') {
      const wantItems = (want.Value ?? []) as DicomJson[];
      const gotItems = (got.Value ?? []) as DicomJson[];
      if (wantItems.length !== gotItems.length)
        out.push(`${where}: ${gotItems.length} items, want ${wantItems.length}`);
      wantItems.forEach((item, i) => {
        compared += compare(item, gotItems[i] ?? {}, `${where}[${i}].`, bigEndian, out);
      });
      continue;
    }
    if (want.InlineBinary !== undefined) {
      // dcm2json writes binary little endian; our raw bytes keep the file's byte order.
      // dcmtk also pads odd-length values with a NUL, which we keep as the file has them.
      const unpadded = (b64: string | undefined) =>
        Buffer.from(b64 ?? '', 'base64')
          .toString('hex')
          .replace(/(00)$/, '');
      if (!bigEndian && unpadded(got.InlineBinary) !== unpadded(want.InlineBinary))
        out.push(`${where}: InlineBinary differs`);
      continue;
    }
    // dcm2json prints FL/FD with limited precision: compare numbers to 7 significant digits.
    const norm = (v: DicomValue[] | undefined) =>
      JSON.stringify(
        (v ?? []).map((x) =>
          x === null
            ? ''
            : typeof x === 'string'
              ? x.trimEnd()
              : typeof x === 'number'
                ? Number(x.toPrecision(7))
                : x,
        ),
      );
    if (norm(want.Value) !== norm(got.Value))
      out.push(`${where}: ${norm(got.Value)} want ${norm(want.Value)}`);
  }
  return compared;
}

for (const { dir, name, bytes } of files) {
  if (name === 'MR_truncated.dcm') {
    test(`${dir}/${name}: truncated file fails with a DicomError naming the tag and offset`, () => {
      assert.throws(
        () => parseDicom(bytes),
        (e: unknown) => {
          assert.ok(e instanceof DicomError);
          assert.equal(e.code, 'DICOM_INVALID');
          assert.equal(e.tag, '(7FE0,0010)');
          assert.match(e.message, /\(7FE0,0010\) at byte offset \d+/);
          assert.ok(e.offset > 0 && e.offset < bytes.length);
          return true;
        },
      );
    });
    continue;
  }
  test(`${dir}/${name}: parses and agrees with the dcm2json reference dump`, () => {
    const ds = parseDicom(bytes);
    const expected = expectedJson(dir, name);
    if (expected === undefined) {
      assert.ok(dicomString(ds, 'SOPInstanceUID') ?? dicomString(ds, 'PatientName'));
      return;
    }
    const mismatches: string[] = [];
    const compared = compare(
      expected,
      toDicomJson(ds),
      '',
      ds.transferSyntaxUID === '1.2.840.10008.1.2.2',
      mismatches,
    );
    assert.deepEqual(mismatches, []);
    assert.ok(compared >= Object.keys(expected).length);
  });
}

test('dev/chrH31.dcm: ISO 2022 IR 87 (JIS X 0208) person name decodes from the bytes pydicom lists', () => {
  const info = readFileSync(new URL('expected/pydicom-charset_files-FileInfo.txt', fixtures), 'latin1');
  const line = info.split('\n').find((l) => l.startsWith('chrH31.dcm')) ?? '';
  // The listing gives the raw value as a Python bytes literal with \xNN escapes.
  const literal = /'((?:[^'\\]|\\.)*)'\s*$/.exec(line)?.[1] ?? '';
  const raw = Buffer.from(
    literal.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  );
  const ds = parseDicom(new Uint8Array(readFileSync(new URL('dev/chrH31.dcm', fixtures))));
  const element = ds.elements.get('00100010');
  assert.deepEqual(
    Buffer.from(element?.value ?? [])
      .toString('latin1')
      .trimEnd(),
    raw.toString('latin1'),
  );
  const name = toDicomJson(ds)['00100010']?.Value?.[0] as {
    Alphabetic: string;
    Ideographic: string;
    Phonetic: string;
  };
  assert.equal(name.Alphabetic, 'Yamada^Tarou');
  // Ideographic and phonetic groups decode to kanji/kana: no escape bytes, no replacement characters, no ASCII.
  for (const group of [name.Ideographic, name.Phonetic]) {
    assert.match(group, /^[\u3040-\u30ff\u4e00-\u9fff]+\^[\u3040-\u30ff\u4e00-\u9fff]+$/u);
  }
  assert.equal(new TextDecoder('iso-2022-jp').decode(raw).split('=')[1], name.Ideographic);
});
