/**
 * Apple Health export (`export.xml`) → FHIR R4 Observations, as a stream. Exports run to gigabytes, so the XML is
 * read with a SAX parser (saxes) chunk by chunk and each `Record` becomes an Observation as soon as it closes:
 * memory stays flat whatever the size. Works the same in Node and in a browser (no Node APIs).
 *
 * What becomes what:
 * - quantity `Record`s of the types in `catalog.ts` → one Observation each (LOINC code, category, UCUM quantity,
 *   effectiveDateTime or effectivePeriod with the export's UTC offset, the source app/device as `device.display`,
 *   `MetadataEntry`s as notes);
 * - cumulative types (steps, active energy) are summed per local day and per source into one Observation, so years
 *   of per-minute samples do not become millions of records (sources are kept apart because Apple Health counts
 *   the same steps from a phone and a watch: adding them would double them). `aggregate: false` keeps every sample;
 * - a blood-pressure `Correlation` → one panel (85354-9) with systolic and diastolic components. Apple also lists
 *   those two samples at the top level; there they are counted as skipped ("part of a blood-pressure panel");
 * - everything else (other types, units not understood, workouts, activity summaries) is counted per type with a
 *   reason in the summary.
 */
import type { Observation, ObservationComponent, Patient, Quantity, Reference } from '@medplum/fhirtypes';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import {
  BLOOD_PRESSURE,
  type Coding,
  normaliseUnit,
  OBSERVATION_CATEGORY,
  QUANTITY_TYPES,
  type QuantitySpec,
  UCUM,
  type UnitSpec,
} from './catalog.ts';
import { AppleHealthError } from './errors.ts';

export interface AppleHealthOptions {
  /** Every Observation's subject: a reference such as `Patient/123`, or a Reference (e.g. by identifier). */
  patientRef: string | Reference<Patient>;
  /** Sum cumulative types (steps, active energy) per day and source. Default true. */
  aggregate?: boolean;
}

/** What an export held and what became of it. */
export interface AppleHealthSummary {
  /** The export's locale and date, from the root element and `ExportDate`. */
  locale?: string;
  exportDate?: string;
  /** `Record` elements read (inside correlations included). */
  records: number;
  /** Observations produced. */
  observations: number;
  /** Per HealthKit type that was imported: source samples read and Observations produced. */
  imported: Record<string, { records: number; observations: number }>;
  /** Per type (or element) not imported: how many, and why. */
  skipped: Record<string, { count: number; reason: string }>;
}

interface RecordElement {
  attrs: Record<string, string>;
  metadata: [string, string][];
}

/** "2024-01-02 08:00:00 +0100" → "2024-01-02T08:00:00+01:00"; undefined when it is not that shape. */
export function appleHealthDate(text: string | undefined): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text?.trim() ?? '');
  return m ? `${m[1]}T${m[2]}${m[3]}${m[4]}:${m[5]}` : undefined;
}

/** True when the first bytes of a file look like an Apple Health export. */
export function isAppleHealthExport(head: string): boolean {
  return /<!DOCTYPE\s+HealthData[\s[>]|<HealthData[\s>]/.test(head);
}

const round = (v: number) => Number.parseFloat(v.toPrecision(12));

interface DayTotal {
  type: string;
  spec: QuantitySpec;
  unit: UnitSpec;
  source: string;
  value: number;
  samples: number;
  start: string;
  end: string;
}

/**
 * A push converter: feed it text or bytes with `write`, collect the Observations each call returns, then `end()`.
 *
 * @example
 * const c = new AppleHealthConverter({ patientRef: 'Patient/123' });
 * for await (const chunk of stream) for (const o of c.write(chunk)) save(o);
 * for (const o of c.end()) save(o);
 * console.log(c.summary.skipped);
 */
export class AppleHealthConverter {
  readonly summary: AppleHealthSummary = { records: 0, observations: 0, imported: {}, skipped: {} };
  readonly #parser = new SaxesParser({ position: true });
  readonly #options: Required<AppleHealthOptions>;
  readonly #subject: Reference<Patient>;
  readonly #decoder = new TextDecoder('utf-8');
  readonly #days = new Map<string, DayTotal>();
  #out: Observation[] = [];
  #depth = 0;
  #root = false;
  #record: RecordElement | undefined;
  #correlation: (RecordElement & { records: RecordElement[] }) | undefined;
  #ended = false;

  constructor(options: AppleHealthOptions) {
    this.#options = { aggregate: true, ...options };
    this.#subject =
      typeof options.patientRef === 'string' ? { reference: options.patientRef } : options.patientRef;
    const p = this.#parser;
    p.on('error', (err) => {
      throw new AppleHealthError(
        `malformed XML at line ${p.line}, column ${p.column}: ${err.message.replace(/^(?:.*?:)?\d+:\d+: /, '')}`,
      );
    });
    p.on('opentag', (tag) => this.#open(tag as SaxesTagPlain));
    p.on('closetag', (tag) => this.#close(tag as SaxesTagPlain));
  }

  /** Parses the next chunk; returns the Observations completed by it. */
  write(chunk: string | Uint8Array): Observation[] {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#parser.write(text);
    return this.#take();
  }

  /** Ends the input: checks the document is complete and returns the remaining (daily total) Observations. */
  end(): Observation[] {
    if (this.#ended) return [];
    this.#ended = true;
    const rest = this.#decoder.decode();
    if (rest) this.#parser.write(rest);
    if (!this.#root) throw new AppleHealthError('not an Apple Health export: there is no HealthData element');
    this.#parser.close();
    for (const d of this.#days.values()) this.#emit(d.type, this.#dailyTotal(d));
    this.#days.clear();
    return this.#take();
  }

  #take(): Observation[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #open(tag: SaxesTagPlain) {
    this.#depth++;
    const a = tag.attributes;
    if (this.#depth === 1) {
      if (tag.name !== 'HealthData')
        throw new AppleHealthError(
          `not an Apple Health export: the root element is ${tag.name} (line ${this.#parser.line}), not HealthData`,
        );
      this.#root = true;
      if (a.locale) this.summary.locale = a.locale;
      return;
    }
    if (tag.name === 'MetadataEntry') {
      const owner = this.#record ?? (this.#depth === 3 ? this.#correlation : undefined);
      if (owner && a.key !== undefined) owner.metadata.push([a.key, a.value ?? '']);
      return;
    }
    if (tag.name === 'Record' && (this.#depth === 2 || (this.#depth === 3 && this.#correlation))) {
      this.#record = { attrs: a, metadata: [] };
      this.summary.records++;
      return;
    }
    if (this.#depth !== 2) return;
    if (tag.name === 'Correlation') this.#correlation = { attrs: a, metadata: [], records: [] };
    else if (tag.name === 'ExportDate') {
      const d = appleHealthDate(a.value);
      if (d) this.summary.exportDate = d;
    } else if (tag.name === 'Workout') this.#skip(`Workout`, 'workouts are not imported');
    else if (tag.name === 'ActivitySummary')
      this.#skip('ActivitySummary', 'activity ring summaries are not imported');
    else if (tag.name !== 'Me') this.#skip(tag.name, 'element not imported');
  }

  #close(tag: SaxesTagPlain) {
    const depth = this.#depth--;
    if (tag.name === 'Record' && this.#record && (depth === 2 || depth === 3)) {
      const r = this.#record;
      this.#record = undefined;
      if (this.#correlation && depth === 3) this.#correlation.records.push(r);
      else this.#quantity(r);
    } else if (tag.name === 'Correlation' && depth === 2 && this.#correlation) {
      const c = this.#correlation;
      this.#correlation = undefined;
      this.#correlated(c);
    }
  }

  #skip(type: string, reason: string) {
    const s = this.summary.skipped[type];
    if (s) s.count++;
    else this.summary.skipped[type] = { count: 1, reason };
  }

  #emit(type: string, o: Observation) {
    this.#imported(type).observations++;
    this.summary.observations++;
    this.#out.push(o);
  }

  #count(type: string) {
    this.#imported(type).records++;
  }

  #imported(type: string) {
    const known = this.summary.imported[type];
    if (known) return known;
    const fresh = { records: 0, observations: 0 };
    this.summary.imported[type] = fresh;
    return fresh;
  }

  /** The parts every Observation shares; undefined (and counted as skipped) when a date is not understood. */
  #base(type: string, attrs: Record<string, string>, metadata: [string, string][]) {
    const start = appleHealthDate(attrs.startDate);
    const end = appleHealthDate(attrs.endDate) ?? start;
    if (!start || !end) {
      this.#skip(type, `date not understood: "${attrs.startDate ?? ''}"`);
      return undefined;
    }
    const issued = appleHealthDate(attrs.creationDate);
    const device = [attrs.sourceName, attrs.sourceVersion && `(${attrs.sourceVersion})`]
      .filter(Boolean)
      .join(' ');
    const notes = metadata.map(([k, v]) => ({ text: `${k.replace(/^HKMetadataKey/, '')}: ${v}` }));
    return {
      start,
      end,
      fields: {
        status: 'final' as const,
        subject: this.#subject,
        ...(start === end ? { effectiveDateTime: start } : { effectivePeriod: { start, end } }),
        ...(issued ? { issued } : {}),
        ...(device ? { device: { display: device } } : {}),
        ...(notes.length ? { note: notes } : {}),
      },
    };
  }

  #value(type: string, attrs: Record<string, string>, units: Record<string, UnitSpec>) {
    const v = quantityOf(attrs, units);
    if (typeof v === 'string') return void this.#skip(type, v);
    return v;
  }

  #quantity(r: RecordElement) {
    const type = r.attrs.type ?? '(no type)';
    if (type === BLOOD_PRESSURE.systolic || type === BLOOD_PRESSURE.diastolic)
      return this.#skip(type, 'imported as part of a blood-pressure panel');
    const spec = QUANTITY_TYPES[type];
    if (!spec) return this.#skip(type, 'no FHIR mapping for this type');
    const base = this.#base(type, r.attrs, r.metadata);
    const v = base && this.#value(type, r.attrs, spec.units);
    if (!base || !v) return;
    this.#count(type);
    if (spec.cumulative && this.#options.aggregate) {
      const source = r.attrs.sourceName ?? '';
      const day = base.start.slice(0, 10);
      const key = `${type}\u0000${day}\u0000${source}\u0000${v.unit.code}`;
      const d = this.#days.get(key);
      if (!d)
        this.#days.set(key, {
          type,
          spec,
          unit: v.unit,
          source,
          value: v.quantity.value ?? 0,
          samples: 1,
          start: base.start,
          end: base.end,
        });
      else {
        d.value += v.quantity.value ?? 0;
        d.samples++;
        if (Date.parse(base.start) < Date.parse(d.start)) d.start = base.start;
        if (Date.parse(base.end) > Date.parse(d.end)) d.end = base.end;
      }
      return;
    }
    this.#emit(type, this.#observation(spec, v.unit, base.fields, { valueQuantity: v.quantity }));
  }

  #observation(
    spec: Pick<QuantitySpec, 'coding' | 'category' | 'profile'>,
    unit: UnitSpec | undefined,
    fields: Partial<Observation>,
    value: Partial<Observation>,
  ): Observation {
    const coding: Coding[] = unit?.coding ? [unit.coding] : spec.coding;
    return {
      resourceType: 'Observation',
      ...(spec.profile ? { meta: { profile: [spec.profile] } } : {}),
      status: 'final',
      category: [
        {
          coding: [
            {
              system: OBSERVATION_CATEGORY,
              code: spec.category,
              display: CATEGORY_DISPLAY[spec.category],
            },
          ],
        },
      ],
      code: { coding, text: coding[0]?.display ?? '' },
      ...fields,
      ...value,
    };
  }

  #dailyTotal(d: DayTotal): Observation {
    return this.#observation(
      d.spec,
      d.unit,
      {
        status: 'final',
        subject: this.#subject,
        effectivePeriod: { start: d.start, end: d.end },
        ...(d.source ? { device: { display: d.source } } : {}),
        note: [{ text: `Daily total of ${d.samples} Apple Health sample${d.samples === 1 ? '' : 's'}` }],
      },
      { valueQuantity: { value: round(d.value), unit: d.unit.unit, system: UCUM, code: d.unit.code } },
    );
  }

  #correlated(c: RecordElement & { records: RecordElement[] }) {
    const type = c.attrs.type ?? '(no type)';
    if (type !== BLOOD_PRESSURE.correlation) {
      for (const r of c.records) this.#skip(r.attrs.type ?? '(no type)', `inside an unmapped ${type}`);
      return this.#skip(type, 'no FHIR mapping for this correlation');
    }
    const component = (code: Coding, sampleType: string): ObservationComponent | undefined => {
      const r = c.records.find((x) => x.attrs.type === sampleType);
      const v = r && quantityOf(r.attrs, BLOOD_PRESSURE.units);
      return v && typeof v !== 'string'
        ? { code: { coding: [code], text: code.display }, valueQuantity: v.quantity }
        : undefined;
    };
    const systolic = component(BLOOD_PRESSURE.systolicCode, BLOOD_PRESSURE.systolic);
    const diastolic = component(BLOOD_PRESSURE.diastolicCode, BLOOD_PRESSURE.diastolic);
    if (!systolic || !diastolic)
      return this.#skip(type, 'no systolic and diastolic value in mmHg in this blood-pressure correlation');
    const base = this.#base(type, c.attrs, c.metadata);
    if (!base) return;
    this.#count(type);
    this.#emit(
      type,
      this.#observation(
        {
          coding: [BLOOD_PRESSURE.panel],
          category: 'vital-signs',
          profile: BLOOD_PRESSURE.profile,
        },
        undefined,
        base.fields,
        { component: [systolic, diastolic] },
      ),
    );
  }
}

/** The UCUM quantity of a sample, or why there is none. */
function quantityOf(
  attrs: Record<string, string>,
  units: Record<string, UnitSpec>,
): { unit: UnitSpec; quantity: Quantity } | string {
  const unit = units[normaliseUnit(attrs.unit ?? '')];
  if (!unit) return `unit not understood: "${attrs.unit ?? ''}"`;
  const raw = Number(attrs.value);
  if (attrs.value === undefined || attrs.value.trim() === '' || !Number.isFinite(raw))
    return `value is not a number: "${attrs.value ?? ''}"`;
  return {
    unit,
    quantity: { value: round(raw * (unit.scale ?? 1)), unit: unit.unit, system: UCUM, code: unit.code },
  };
}

const CATEGORY_DISPLAY = {
  'vital-signs': 'Vital Signs',
  activity: 'Activity',
  laboratory: 'Laboratory',
} as const;

/**
 * Converts an Apple Health export read as a stream (a Node ReadStream, `File.stream()`, or any iterable of text or
 * bytes) into Observations, yielded as they are read. The generator's return value is the summary.
 *
 * @throws AppleHealthError for malformed XML (naming line and column) or a root other than HealthData.
 * @example
 * const it = appleHealthToFhir(createReadStream('export.xml'), { patientRef: 'Patient/123' });
 * for await (const observation of it) batch.push(observation);
 */
export async function* appleHealthToFhir(
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: AppleHealthOptions,
): AsyncGenerator<Observation, AppleHealthSummary, undefined> {
  const c = new AppleHealthConverter(options);
  for await (const chunk of source) yield* c.write(chunk);
  yield* c.end();
  return c.summary;
}
