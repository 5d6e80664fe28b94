/**
 * Apple Health export → FHIR Observations: each mapped type with its LOINC code, UCUM unit and scaling, dates with
 * their UTC offsets, the blood-pressure correlation as a panel, daily step totals per source, unmapped types
 * counted with a reason, malformed XML refused naming the line, and a 200k-record export streamed in flat memory.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadFhirDefinitions, validateFhirResource } from '@medbloc/core';
import type { Observation } from '@medplum/fhirtypes';
import {
  AppleHealthConverter,
  AppleHealthError,
  appleHealthDate,
  appleHealthToFhir,
  isAppleHealthExport,
} from './index.ts';
import { HEAD, SAMPLE, SAMPLE_OBSERVATIONS } from './sample.test-helpers.ts';

async function convert(xml: string, options: { aggregate?: boolean } = {}, chunk = 97) {
  const it = appleHealthToFhir(chunks(xml, chunk), { patientRef: 'Patient/ana', ...options });
  const out: Observation[] = [];
  for (;;) {
    const next = await it.next();
    if (next.done) return { out, summary: next.value };
    out.push(next.value);
  }
}

function* chunks(text: string, size: number) {
  const bytes = new TextEncoder().encode(text);
  // Byte chunks that split multi-byte characters (the ’ in the source names) exercise the streaming decoder.
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const byCode = (out: Observation[], code: string) =>
  out.filter((o) => o.code?.coding?.some((c) => c.code === code));
const one = (out: Observation[], code: string) => {
  const found = byCode(out, code);
  assert.equal(found.length, 1, `one Observation coded ${code}`);
  return found[0]!;
};

describe('Apple Health export → FHIR', () => {
  test('every produced Observation is valid FHIR R4 and points at the given patient', async () => {
    const { out } = await convert(SAMPLE);
    assert.equal(out.length, SAMPLE_OBSERVATIONS);
    for (const o of out) {
      const v = validateFhirResource(o);
      assert.ok(v.ok, `${o.code?.text}: ${JSON.stringify(v.ok ? '' : v.outcome.issue)}`);
      assert.equal(o.subject?.reference, 'Patient/ana');
      assert.equal(o.status, 'final');
    }
  });

  test('vital signs: LOINC codes, UCUM units, the vital-signs profile and category', async () => {
    const { out } = await convert(SAMPLE);
    const hr = byCode(out, '8867-4');
    assert.equal(hr.length, 1, 'the count/s heart rate is skipped, not converted');
    assert.deepEqual(hr[0]!.valueQuantity, {
      value: 72,
      unit: 'beats/minute',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    });
    assert.deepEqual(hr[0]!.meta?.profile, ['http://hl7.org/fhir/StructureDefinition/heartrate']);
    assert.equal(hr[0]!.category?.[0]?.coding?.[0]?.code, 'vital-signs');
    assert.equal(hr[0]!.device?.display, 'Ana’s Apple Watch (10.2)');
    assert.deepEqual(hr[0]!.note, [{ text: 'HeartRateMotionContext: 1' }]);

    assert.equal(one(out, '40443-4').valueQuantity?.code, '/min');
    const weights = byCode(out, '29463-7');
    assert.deepEqual(
      weights.map((w) => [w.valueQuantity?.value, w.valueQuantity?.code]),
      [
        [64.3, 'kg'],
        [141.8, '[lb_av]'],
      ],
    );
    assert.deepEqual(one(out, '8302-2').valueQuantity, {
      value: 168,
      unit: 'cm',
      system: 'http://unitsofmeasure.org',
      code: 'cm',
    });
    assert.equal(one(out, '39156-5').valueQuantity?.code, 'kg/m2');
    assert.deepEqual(
      byCode(out, '8310-5').map((t) => [t.valueQuantity?.value, t.valueQuantity?.code]),
      [
        [36.8, 'Cel'],
        [98.6, '[degF]'],
      ],
    );
    const rr = one(out, '9279-1');
    assert.deepEqual([rr.valueQuantity?.value, rr.valueQuantity?.code], [14.5, '/min']);
  });

  test('fractions stored under "%" are scaled to percent; oxygen saturation carries both LOINC codes', async () => {
    const { out } = await convert(SAMPLE);
    const spo2 = one(out, '59408-5');
    assert.deepEqual(
      spo2.code?.coding?.map((c) => c.code),
      ['59408-5', '2708-6'],
    );
    assert.deepEqual([spo2.valueQuantity?.value, spo2.valueQuantity?.code], [97, '%']);
    assert.equal(one(out, '41982-0').valueQuantity?.value, 25.4);
  });

  test('blood glucose: LOINC by unit (mass 2339-0, substance 15074-8), laboratory category, metadata as notes', async () => {
    const { out } = await convert(SAMPLE);
    const mass = one(out, '2339-0');
    assert.deepEqual([mass.valueQuantity?.value, mass.valueQuantity?.code], [98, 'mg/dL']);
    assert.equal(mass.category?.[0]?.coding?.[0]?.code, 'laboratory');
    assert.deepEqual(
      mass.note?.map((n) => n.text),
      ['HKBloodGlucoseMealTime: 1', 'HKWasUserEntered: 1'],
    );
    const molar = one(out, '15074-8');
    assert.deepEqual([molar.valueQuantity?.value, molar.valueQuantity?.code], [5.4, 'mmol/L']);
  });

  test('dates keep their UTC offsets: an instant, or a period when start and end differ', async () => {
    assert.equal(appleHealthDate('2024-01-02 08:00:00 +0100'), '2024-01-02T08:00:00+01:00');
    assert.equal(appleHealthDate('2024-01-05 21:10:00 +0530'), '2024-01-05T21:10:00+05:30');
    assert.equal(appleHealthDate('2024-01-03 07:30:00 -0500'), '2024-01-03T07:30:00-05:00');
    assert.equal(appleHealthDate('2024-01-03T07:30:00Z'), undefined);
    const { out, summary } = await convert(SAMPLE);
    const hr = one(out, '8867-4');
    assert.equal(hr.effectiveDateTime, '2024-01-02T08:00:00+01:00');
    assert.equal(hr.issued, '2024-01-02T08:00:00+01:00');
    assert.deepEqual(one(out, '40443-4').effectivePeriod, {
      start: '2024-01-02T00:03:11+01:00',
      end: '2024-01-02T23:58:40+01:00',
    });
    assert.equal(byCode(out, '8310-5')[0]!.effectiveDateTime, '2024-01-05T21:10:00+05:30');
    assert.equal(byCode(out, '29463-7')[0]!.effectiveDateTime, '2024-01-03T07:30:00-05:00');
    assert.equal(summary.exportDate, '2024-03-01T09:15:02+01:00');
    assert.equal(summary.locale, 'en_GB');
  });

  test('a blood-pressure correlation becomes one panel with systolic and diastolic components', async () => {
    const { out, summary } = await convert(SAMPLE);
    const bp = one(out, '85354-9');
    assert.deepEqual(bp.meta?.profile, ['http://hl7.org/fhir/StructureDefinition/bp']);
    assert.deepEqual(
      bp.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.value, c.valueQuantity?.code]),
      [
        ['8480-6', 124, 'mm[Hg]'],
        ['8462-4', 81, 'mm[Hg]'],
      ],
    );
    assert.equal(bp.valueQuantity, undefined);
    assert.equal(bp.effectiveDateTime, '2024-01-02T07:45:00+01:00');
    assert.equal(bp.device?.display, 'Omron (2.1)');
    // The top-level copies of the two samples are not imported a second time, and say so.
    assert.equal(byCode(out, '8480-6').length, 0);
    assert.deepEqual(summary.skipped.HKQuantityTypeIdentifierBloodPressureSystolic, {
      count: 1,
      reason: 'imported as part of a blood-pressure panel',
    });
    assert.deepEqual(summary.imported.HKCorrelationTypeIdentifierBloodPressure, {
      records: 1,
      observations: 1,
    });
  });

  test('heart rate variability in ms; active energy summed per day in kcal', async () => {
    const { out, summary } = await convert(SAMPLE);
    const hrv = one(out, '80404-7');
    assert.deepEqual([hrv.valueQuantity?.value, hrv.valueQuantity?.code], [48.2, 'ms']);
    assert.equal(hrv.category?.[0]?.coding?.[0]?.code, 'vital-signs');
    const energy = one(out, '41981-2');
    assert.deepEqual([energy.valueQuantity?.value, energy.valueQuantity?.code], [42.75, 'kcal']);
    assert.equal(energy.category?.[0]?.coding?.[0]?.code, 'activity');
    assert.deepEqual(energy.effectivePeriod, {
      start: '2024-01-02T08:00:00+01:00',
      end: '2024-01-02T17:20:00+01:00',
    });
    assert.deepEqual(summary.imported.HKQuantityTypeIdentifierActiveEnergyBurned, {
      records: 2,
      observations: 1,
    });
  });

  test('steps are summed per day and per source; aggregate: false keeps every sample', async () => {
    const { out, summary } = await convert(SAMPLE);
    const steps = byCode(out, '55423-8');
    const totals = steps
      .map((s) => [s.effectivePeriod?.start?.slice(0, 10), s.device?.display, s.valueQuantity?.value])
      .sort((a, b) => String(a).localeCompare(String(b)));
    assert.deepEqual(totals, [
      ['2024-01-02', 'Ana’s Apple Watch', 200],
      ['2024-01-02', 'Ana’s iPhone', 60],
      ['2024-01-03', 'Ana’s Apple Watch', 40],
    ]);
    const watchDay = steps.find((s) => s.valueQuantity?.value === 200)!;
    assert.deepEqual(watchDay.effectivePeriod, {
      start: '2024-01-02T08:00:00+01:00',
      end: '2024-01-02T18:31:00+01:00',
    });
    assert.equal(watchDay.valueQuantity?.code, '{steps}');
    assert.equal(watchDay.category?.[0]?.coding?.[0]?.code, 'activity');
    assert.deepEqual(watchDay.note, [{ text: 'Daily total of 2 Apple Health samples' }]);
    assert.deepEqual(summary.imported.HKQuantityTypeIdentifierStepCount, { records: 4, observations: 3 });

    const raw = await convert(SAMPLE, { aggregate: false });
    assert.equal(byCode(raw.out, '55423-8').length, 4);
    assert.equal(raw.out.length, out.length + 2, 'one more step sample and one more energy sample');
  });

  test('types, units and elements it does not import are counted with a reason', async () => {
    const { out, summary } = await convert(SAMPLE);
    assert.deepEqual(summary.skipped, {
      HKQuantityTypeIdentifierDistanceWalkingRunning: { count: 1, reason: 'no FHIR mapping for this type' },
      HKQuantityTypeIdentifierEnvironmentalAudioExposure: {
        count: 1,
        reason: 'no FHIR mapping for this type',
      },
      HKQuantityTypeIdentifierHeartRate: { count: 1, reason: 'unit not understood: "count/s"' },
      HKQuantityTypeIdentifierBloodPressureSystolic: {
        count: 1,
        reason: 'imported as part of a blood-pressure panel',
      },
      HKQuantityTypeIdentifierBloodPressureDiastolic: {
        count: 1,
        reason: 'imported as part of a blood-pressure panel',
      },
      HKQuantityTypeIdentifierDietaryEnergyConsumed: {
        count: 1,
        reason: 'inside an unmapped HKCorrelationTypeIdentifierFood',
      },
      HKCorrelationTypeIdentifierFood: { count: 1, reason: 'no FHIR mapping for this correlation' },
      HKCategoryTypeIdentifierSleepAnalysis: { count: 1, reason: 'no FHIR mapping for this type' },
      Workout: { count: 1, reason: 'workouts are not imported' },
      ActivitySummary: { count: 1, reason: 'activity ring summaries are not imported' },
    });
    // Every Record is accounted for: imported or skipped.
    const imported = Object.values(summary.imported).reduce((n, t) => n + t.records, 0);
    const skippedRecords = Object.entries(summary.skipped)
      .filter(([k]) => k.startsWith('HK') && !k.startsWith('HKCorrelation'))
      .reduce((n, [, s]) => n + s.count, 0);
    // The panel's two samples are two records read but one imported (the correlation).
    assert.equal(summary.records, imported + skippedRecords + 1);
    assert.equal(summary.observations, out.length);
  });

  test('malformed XML is refused naming the line; a different root is not an Apple Health export', async () => {
    const broken = SAMPLE.replace(
      '<Record type="HKQuantityTypeIdentifierRespiratoryRate"',
      '<Record type="HKQuantityTypeIdentifierRespiratoryRate" value="1" value="2"',
    );
    const line = broken.slice(0, broken.indexOf('value="1" value="2"')).split('\n').length;
    await assert.rejects(convert(broken), (e: unknown) => {
      assert.ok(e instanceof AppleHealthError);
      assert.equal(e.code, 'APPLE_HEALTH_INVALID');
      assert.match(e.message, new RegExp(`^malformed XML at line ${line}, column \\d+: `));
      return true;
    });
    const truncated = SAMPLE.slice(0, SAMPLE.indexOf('<Workout'));
    await assert.rejects(convert(truncated), /malformed XML at line \d+/);
    await assert.rejects(
      convert('<?xml version="1.0"?>\n<Bundle xmlns="http://hl7.org/fhir"/>'),
      /not an Apple Health export: the root element is Bundle \(line 2\)/,
    );
    await assert.rejects(convert(''), /not an Apple Health export: there is no HealthData element/);
  });

  test('recognises an export from its first bytes', () => {
    assert.ok(isAppleHealthExport(SAMPLE.slice(0, 512)));
    assert.ok(isAppleHealthExport('<?xml version="1.0"?><HealthData locale="en_US">'));
    assert.ok(!isAppleHealthExport('<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir">'));
  });

  test('a 200k-record export streams through in flat memory', async () => {
    const N = 200_000;
    function* generated() {
      yield HEAD;
      let batch = '';
      for (let i = 0; i < N; i++) {
        const minute = String(i % 60).padStart(2, '0');
        const hour = String(Math.floor(i / 60) % 24).padStart(2, '0');
        const day = String(1 + (Math.floor(i / 1440) % 28)).padStart(2, '0');
        const d = `2024-02-${day} ${hour}:${minute}:00 +0100`;
        batch +=
          i % 2
            ? ` <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" creationDate="${d}" startDate="${d}" endDate="${d}" value="${60 + (i % 40)}"><MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/></Record>\n`
            : ` <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" unit="count" creationDate="${d}" startDate="${d}" endDate="${d}" value="${i % 100}"/>\n`;
        if (i % 500 === 499) {
          yield batch;
          batch = '';
        }
      }
      yield `${batch}</HealthData>\n`;
    }
    // Garbage is collected before every sample, so the figure is what the converter keeps, not how far V8 lets its
    // heap grow between collections (which depends on the machine's load).
    // The R4 definitions the sampled validations need are loaded first: they are not the converter's memory.
    loadFhirDefinitions();
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    let heartRates = 0;
    let stepTotals = 0;
    let sampled = 0;
    const c = new AppleHealthConverter({ patientRef: 'Patient/ana' });
    let i = 0;
    for (const chunk of generated()) {
      for (const o of c.write(chunk)) {
        if (o.code?.coding?.[0]?.code === '8867-4') heartRates++;
        if (sampled < 3 && validateFhirResource(o).ok) sampled++;
      }
      if (++i % 50 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    }
    for (const o of c.end()) if (o.code?.coding?.[0]?.code === '55423-8') stepTotals++;
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(heartRates, N / 2);
    assert.equal(stepTotals, 28, 'one step total per day of February used');
    assert.equal(sampled, 3);
    assert.equal(c.summary.records, N);
    const growth = (peak - before) / 1048576;
    assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MiB while streaming ${N} records`);
  });
});
