/**
 * The official FHIRPath R4 test suite (tests-fhir-r4.xml: 937 tests, 935 of them live) run against Medplum's FHIRPath engine — the one
 * our search (Medplum's matcher and our indexes) and validation evaluate. Inputs given as XML are read with our own
 * FHIR XML converter. The pass rate is printed and must not fall below what was measured when this test was written;
 * failing tests are listed by name so a change in the engine shows up here.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { loadFhirDefinitions } from '@medbloc/core';
import { fhirXmlToJson } from '@medbloc/interop';
import { evalFhirPathTyped, type TypedValue, toTypedValue } from '@medplum/core';
import { SaxesParser } from 'saxes';
import { FIXTURES } from './support/harness.ts';

const DIR = path.join(FIXTURES, 'fhirpath/r4');
/** Measured with @medplum/core 5.2.13 when this test was written (see the printed rate). */
const PASS_FLOOR = 708;

interface SuiteTest {
  name: string;
  group: string;
  inputfile?: string;
  predicate?: boolean;
  unordered?: boolean;
  expression: string;
  invalid?: string;
  outputs: { type: string; value: string }[];
}

/** The suite's tests, read with a strict XML parser. */
function parseSuite(xml: string): SuiteTest[] {
  const parser = new SaxesParser();
  const tests: SuiteTest[] = [];
  let group = '';
  let current: SuiteTest | undefined;
  let text = '';
  let outputType = '';
  parser.on('opentag', (tag) => {
    const a = tag.attributes as Record<string, string>;
    if (tag.name === 'group') group = a.name ?? '';
    if (tag.name === 'test')
      current = {
        name: a.name ?? '(unnamed)',
        group,
        expression: '',
        outputs: [],
        ...(a.inputfile ? { inputfile: a.inputfile } : {}),
        // predicate="true": the result is read as a boolean (non-empty); "false" is an ordinary comparison.
        ...(a.predicate === 'true' ? { predicate: true } : {}),
        ...(a.ordered === 'false' ? { unordered: true } : {}),
      };
    if (tag.name === 'expression' && current && a.invalid) current.invalid = a.invalid;
    if (tag.name === 'output') outputType = a.type ?? '';
    text = '';
  });
  parser.on('text', (t) => {
    text += t;
  });
  parser.on('closetag', (tag) => {
    if (!current) return;
    if (tag.name === 'expression') current.expression = text;
    if (tag.name === 'output') current.outputs.push({ type: outputType, value: text });
    if (tag.name === 'test') {
      tests.push(current);
      current = undefined;
    }
  });
  parser.write(xml).close();
  return tests;
}

/** One result value in the suite's notation (`@` dates, `1 'mg'` quantities). */
function show(v: TypedValue): string {
  const value = v.value as unknown;
  if (v.type === 'Quantity') {
    const q = value as { value?: number; unit?: string; code?: string };
    return `${q.value} '${q.unit ?? q.code}'`;
  }
  if (v.type === 'date' || v.type === 'dateTime') return `@${value}`;
  if (v.type === 'time') return `@T${String(value).replace(/^T/, '')}`;
  return String(value);
}

function expected(o: { type: string; value: string }): string {
  if (o.type === 'decimal' || o.type === 'integer') return String(Number(o.value));
  return o.value;
}

test('the FHIRPath R4 suite against Medplum’s engine', async () => {
  loadFhirDefinitions();
  const suite = parseSuite(await readFile(path.join(DIR, 'tests-fhir-r4.xml'), 'utf8'));
  // The file holds 937 <test> elements; two of them are commented out.
  assert.equal(suite.length, 935);

  const inputs = new Map<string, TypedValue | Error>();
  for (const file of new Set(suite.flatMap((t) => (t.inputfile ? [t.inputfile] : [])))) {
    try {
      const text = await readFile(path.join(DIR, file), 'utf8');
      inputs.set(file, toTypedValue(file.endsWith('.json') ? JSON.parse(text) : fhirXmlToJson(text)));
    } catch (err) {
      inputs.set(file, err as Error);
    }
  }

  const failed: string[] = [];
  for (const t of suite) {
    const input = t.inputfile ? inputs.get(t.inputfile) : undefined;
    if (input instanceof Error) {
      failed.push(`${t.name} (input ${t.inputfile}: ${input.message})`);
      continue;
    }
    const variables: Record<string, TypedValue> = {
      '%ucum': { type: 'string', value: 'http://unitsofmeasure.org' },
      ...(input ? { '%resource': input, '%context': input, '%rootResource': input } : {}),
    };
    let result: TypedValue[] | Error;
    try {
      result = evalFhirPathTyped(t.expression, input ? [input] : [], variables);
    } catch (err) {
      result = err as Error;
    }
    let pass: boolean;
    if (t.invalid) pass = result instanceof Error;
    else if (result instanceof Error) pass = false;
    else if (t.predicate !== undefined) pass = result.length > 0 === t.predicate;
    else {
      const got = result.map(show);
      const want = t.outputs.map(expected);
      if (t.unordered) {
        got.sort();
        want.sort();
      }
      pass = got.length === want.length && got.every((v, i) => v === want[i]);
    }
    if (!pass) failed.push(`${t.group}/${t.name}`);
  }

  const passed = suite.length - failed.length;
  const rate = passed / suite.length;
  console.log(`# FHIRPath R4 suite: ${passed}/${suite.length} passed (${(rate * 100).toFixed(1)} %)`);
  console.log(`# failing: ${failed.join(', ')}`);
  assert.ok(passed >= PASS_FLOOR, `${passed} passed; at least ${PASS_FLOOR} were passing`);
});
