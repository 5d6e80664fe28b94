/** OBX → Observation: the value by its type (OBX-2), units, reference range, abnormal flags and status. */
import type { CodeableConcept, Observation, ObservationReferenceRange, Quantity } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, dateTime, decimal } from './datatypes.ts';
import type { Rep, Segment } from './message.ts';
import { practitionerRef } from './patient.ts';

const STATUS: Record<string, Observation['status']> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  A: 'amended',
  I: 'registered',
  O: 'registered',
  X: 'cancelled',
  D: 'entered-in-error',
  W: 'entered-in-error',
  N: 'unknown',
  U: 'unknown',
};

const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const FLAGS: Record<string, string> = {
  N: 'Normal',
  A: 'Abnormal',
  AA: 'Critical abnormal',
  H: 'High',
  HH: 'Critical high',
  HU: 'Significantly high',
  L: 'Low',
  LL: 'Critical low',
  LU: 'Significantly low',
  '<': 'Off scale low',
  '>': 'Off scale high',
  I: 'Intermediate',
  R: 'Resistant',
  S: 'Susceptible',
  MS: 'moderately susceptible',
  VS: 'very susceptible',
  POS: 'Positive',
  NEG: 'Negative',
  IND: 'Indeterminate',
  DET: 'Detected',
  ND: 'Not detected',
  U: 'Significant change up',
  D: 'Significant change down',
  B: 'Better',
  W: 'Worse',
};

type ObservationValue = Pick<
  Observation,
  | 'valueQuantity'
  | 'valueCodeableConcept'
  | 'valueString'
  | 'valueDateTime'
  | 'valueTime'
  | 'valueRange'
  | 'valueRatio'
  | 'valueInteger'
>;

/** The units of OBX-6 (CWE) as Quantity fields; UCUM when the sender says so. */
function units(rep: Rep): Pick<Quantity, 'unit' | 'system' | 'code'> {
  const code = rep.c(1);
  if (code === '') return {};
  const system = rep.c(3).toUpperCase();
  const ucum = system === 'UCUM' || system === 'ISO+' || system === 'ANS+';
  const unit = rep.c(2) || code;
  return ucum ? { unit, system: 'http://unitsofmeasure.org', code } : { unit };
}

const COMPARATOR = new Set(['<', '<=', '>=', '>']);

function quantity(value: number, unit: Pick<Quantity, 'unit' | 'system' | 'code'>): Quantity {
  return { value, ...unit };
}

/** The value of OBX-5 by the type in OBX-2; undefined (with a warning) when it cannot be represented. */
function value(obx: Segment, ctx: Ctx): ObservationValue {
  const type = obx.str(2).toUpperCase();
  const reps = obx.reps(5);
  const where = `line ${obx.line} (OBX-5)`;
  if (reps.length === 0) return {};
  const first = reps[0] as Rep;
  const unit = units(obx.rep(6));
  if (reps.length > 1 && type !== 'TX' && type !== 'FT' && type !== 'ST') {
    ctx.warnings.push(`${where}: ${reps.length} repetitions of a ${type} value; kept the first`);
  }
  switch (type) {
    case 'NM': {
      const n = decimal(first.c(1));
      if (n !== undefined) return { valueQuantity: quantity(n, unit) };
      const sn = structuredNumeric(
        /^([<>]=?)\s*([+-]?[\d.]+)$/.exec(first.c(1).trim())?.slice(1) ?? [],
        unit,
      );
      if (sn) return sn;
      ctx.warnings.push(`${where}: NM value is not a number; kept as text`);
      return { valueString: first.c(1) };
    }
    case 'SN': {
      const sn = structuredNumeric([first.c(1), first.c(2), first.c(3), first.c(4)], unit);
      if (sn) return sn;
      ctx.warnings.push(`${where}: SN value is not a structured numeric; kept as text`);
      return { valueString: first.comps.map((c) => c.join('&')).join('') };
    }
    case 'CE':
    case 'CWE':
    case 'CNE':
    case 'CF':
    case 'CD': {
      const cc = concept(first);
      return cc ? { valueCodeableConcept: cc } : {};
    }
    case 'DT':
    case 'DTM':
    case 'TS': {
      const dt = dateTime(first.c(1), ctx, where);
      return dt ? { valueDateTime: dt } : {};
    }
    case 'TM': {
      const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(first.c(1));
      if (m) return { valueTime: `${m[1]}:${m[2] ?? '00'}:${m[3] ?? '00'}` };
      ctx.warnings.push(`${where}: TM value is not a time; left out`);
      return {};
    }
    case 'NA':
    case 'ED':
    case 'RP':
      return {};
    default:
      // ST, TX, FT, ID, IS, HD, EI, CX, XPN, ... : text, with repetitions as lines.
      return {
        valueString: reps
          .map((r) =>
            r.comps
              .map((c) => c.join('&'))
              .join(type === 'FT' || type === 'TX' || type === 'ST' ? '^' : ' ')
              .trim(),
          )
          .join('\n'),
      };
  }
}

/** SN: comparator^num1^separator^num2 → Quantity (with comparator), Range (`-`) or Ratio (`:` or `/`). */
function structuredNumeric(
  parts: string[],
  unit: Pick<Quantity, 'unit' | 'system' | 'code'>,
): ObservationValue | undefined {
  const [comparator = '', n1s = '', sep = '', n2s = ''] = parts;
  const n1 = decimal(n1s);
  const n2 = decimal(n2s);
  if (n1 === undefined) return undefined;
  if (sep === '' && n2s === '') {
    if (comparator === '' || comparator === '=') return { valueQuantity: quantity(n1, unit) };
    if (COMPARATOR.has(comparator)) {
      return {
        valueQuantity: {
          ...quantity(n1, unit),
          comparator: comparator as NonNullable<Quantity['comparator']>,
        },
      };
    }
    return undefined;
  }
  if (n2 === undefined || comparator !== '') return undefined;
  if (sep === '-') return { valueRange: { low: quantity(n1, unit), high: quantity(n2, unit) } };
  if (sep === ':' || sep === '/')
    return { valueRatio: { numerator: { value: n1 }, denominator: { value: n2 } } };
  return undefined;
}

/** OBX-7: `low-high`, `<high`, `>low` or free text. */
function referenceRange(
  text: string,
  unit: Pick<Quantity, 'unit' | 'system' | 'code'>,
): ObservationReferenceRange | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const range = /^([+-]?\d*\.?\d+)\s*-\s*([+-]?\d*\.?\d+)$/.exec(t);
  if (range)
    return { low: quantity(Number(range[1]), unit), high: quantity(Number(range[2]), unit), text: t };
  const upper = /^<=?\s*([+-]?\d*\.?\d+)$/.exec(t);
  if (upper) return { high: quantity(Number(upper[1]), unit), text: t };
  const lower = /^>=?\s*([+-]?\d*\.?\d+)$/.exec(t);
  if (lower) return { low: quantity(Number(lower[1]), unit), text: t };
  return { text: t };
}

function interpretation(rep: Rep): CodeableConcept | undefined {
  const code = rep.c(1);
  if (code === '') return undefined;
  const display = FLAGS[code.toUpperCase()];
  if (display !== undefined)
    return { coding: [{ system: INTERPRETATION, code: code.toUpperCase(), display }] };
  return concept(rep);
}

export interface ObservationLinks {
  readonly patient: Ref | undefined;
  readonly encounter: Ref | undefined;
  readonly basedOn: Ref | undefined;
  readonly partOf: Ref | undefined;
  readonly effective: string | undefined;
}

/** One OBX segment as an Observation; undefined (with a warning) when OBX-3 names nothing. */
export function observationFromObx(
  obx: Segment,
  links: ObservationLinks,
  b: BundleBuilder,
  ctx: Ctx,
): Observation | undefined {
  const at = (n: number) => `line ${obx.line} (OBX-${n})`;
  const code = concept(obx.rep(3));
  if (code === undefined) {
    ctx.warnings.push(`${at(3)}: observation identifier is empty; segment skipped`);
    return undefined;
  }
  const unit = units(obx.rep(6));
  const range = referenceRange(obx.text(7), unit);
  const statusCode = obx.str(11).toUpperCase();
  const status = STATUS[statusCode] ?? (statusCode === '' ? 'unknown' : undefined);
  if (status === undefined)
    ctx.warnings.push(`${at(11)}: result status "${obx.str(11)}" is not an HL7 status; used unknown`);
  const v = value(obx, ctx);
  const method = concept(obx.rep(17));
  return clean<Observation>({
    resourceType: 'Observation',
    basedOn: links.basedOn ? [links.basedOn] : undefined,
    partOf: links.partOf ? [links.partOf] : undefined,
    status: status ?? 'unknown',
    code,
    subject: links.patient,
    encounter: links.encounter,
    effectiveDateTime: dateTime(obx.str(14), ctx, at(14)) ?? links.effective,
    performer: defined(obx.reps(16).map((r) => practitionerRef(r, b))),
    ...v,
    interpretation: defined(obx.reps(8).map(interpretation)),
    bodySite: concept(obx.rep(20)),
    method,
    referenceRange: range ? [range] : undefined,
  });
}

/** True when OBX-2 says the value is a document (ED) or a pointer to one (RP). */
export function isDocumentValue(obx: Segment): boolean {
  const type = obx.str(2).toUpperCase();
  return type === 'ED' || type === 'RP';
}
