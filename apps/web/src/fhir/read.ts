/**
 * Reading FHIR R4 resources for people: titles, dates, codes, quantities and reference ranges, as plain strings.
 * Pure functions over untrusted JSON — every access is defensive, nothing is ever interpreted as markup.
 */
import { clinicalDateOf } from '@medbloc/sdk';

export type Json = Record<string, unknown>;

export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const arr = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
export const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

/** A CodeableConcept (or Coding, or list of them) as text: its text, else the first display, else the code. */
export function conceptText(v: unknown): string | undefined {
  for (const c of arr(v)) {
    if (!isObj(c)) continue;
    if (typeof c.text === 'string' && c.text) return c.text;
    if (typeof c.display === 'string' && c.display) return c.display;
    for (const coding of arr(c.coding)) {
      const k = coding as Coding;
      if (k?.display) return k.display;
    }
    for (const coding of arr(c.coding)) {
      const k = coding as Coding;
      if (k?.code) return k.code;
    }
    if (typeof c.code === 'string') return c.code;
  }
  return undefined;
}

export function codes(v: unknown): Coding[] {
  return arr(v)
    .flatMap((c) => (isObj(c) ? (arr(c.coding) as Coding[]) : []))
    .filter(isObj) as Coding[];
}

export function quantityText(q: unknown): string | undefined {
  if (!isObj(q)) return undefined;
  const value = str(q.value);
  if (value === undefined) return undefined;
  const unit = str(q.unit) ?? str(q.code) ?? '';
  const cmp = str(q.comparator) ?? '';
  return `${cmp}${value}${unit ? ` ${unit}` : ''}`;
}

export function referenceText(r: unknown): string | undefined {
  if (!isObj(r)) return undefined;
  return str(r.display) ?? str(r.reference);
}

export function periodText(p: unknown): string | undefined {
  if (!isObj(p)) return undefined;
  const start = str(p.start);
  const end = str(p.end);
  if (start && end) return `${formatDate(start)} – ${formatDate(end)}`;
  if (start) return `from ${formatDate(start)}`;
  if (end) return `until ${formatDate(end)}`;
  return undefined;
}

/** The value of an Observation (or component) as text. */
export function valueText(o: Json): string | undefined {
  return (
    quantityText(o.valueQuantity) ??
    conceptText(o.valueCodeableConcept) ??
    str(o.valueString) ??
    str(o.valueInteger) ??
    str(o.valueBoolean) ??
    (isObj(o.valueRange)
      ? `${quantityText(o.valueRange.low) ?? ''} – ${quantityText(o.valueRange.high) ?? ''}`
      : undefined) ??
    str(o.valueDateTime) ??
    periodText(o.valuePeriod) ??
    (isObj(o.dataAbsentReason) ? `absent: ${conceptText(o.dataAbsentReason)}` : undefined)
  );
}

/** An Observation's first reference range as text ("3.5–5.0 mmol/L"), with its bounds for flagging. */
export function referenceRange(o: Json): { text: string; low?: number; high?: number } | undefined {
  const rr = arr(o.referenceRange).find(isObj);
  if (!rr) return undefined;
  const low = isObj(rr.low) && typeof rr.low.value === 'number' ? rr.low.value : undefined;
  const high = isObj(rr.high) && typeof rr.high.value === 'number' ? rr.high.value : undefined;
  const unit =
    (isObj(rr.high) ? str(rr.high.unit) : undefined) ?? (isObj(rr.low) ? str(rr.low.unit) : undefined);
  let text = str(rr.text) ?? '';
  if (!text && (low !== undefined || high !== undefined)) {
    text =
      low !== undefined && high !== undefined
        ? `${low}–${high}`
        : low !== undefined
          ? `≥ ${low}`
          : `≤ ${high}`;
    if (unit) text += ` ${unit}`;
  }
  const out: { text: string; low?: number; high?: number } = { text };
  if (low !== undefined) out.low = low;
  if (high !== undefined) out.high = high;
  return text ? out : undefined;
}

/** 'high' | 'low' when the value lies outside its range (or the interpretation says so). */
export function flagOf(o: Json): 'high' | 'low' | 'abnormal' | undefined {
  const interp = codes(o.interpretation).map((c) => c.code?.toUpperCase());
  if (interp.some((c) => c === 'H' || c === 'HH' || c === 'HU')) return 'high';
  if (interp.some((c) => c === 'L' || c === 'LL' || c === 'LU')) return 'low';
  if (interp.some((c) => c === 'A' || c === 'AA')) return 'abnormal';
  const v =
    isObj(o.valueQuantity) && typeof o.valueQuantity.value === 'number' ? o.valueQuantity.value : undefined;
  const rr = referenceRange(o);
  if (v === undefined || !rr) return undefined;
  if (rr.high !== undefined && v > rr.high) return 'high';
  if (rr.low !== undefined && v < rr.low) return 'low';
  return undefined;
}

/** The clinically relevant date of a resource, ISO text, if it has one. */
export function clinicalDate(r: Json): string | undefined {
  return clinicalDateOf(r);
}

/** One formatter for every date shown (making one per call, as toLocaleString does, costs more than formatting). */
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso: string | number | undefined): string {
  if (iso === undefined) return '';
  const d = typeof iso === 'number' ? new Date(iso) : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  // Date-only values stay date-only; times are shown in the reader's zone.
  if (typeof iso === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(iso)) return iso;
  return DATE_TIME.format(d);
}

/** A one-line title for a resource ("Hemoglobin A1c 6.1 %", "Asthma", "Amoxicillin 500 mg"). */
export function titleOf(r: Json): string {
  const type = str(r.resourceType) ?? 'Resource';
  switch (type) {
    case 'Observation': {
      const name = conceptText(r.code) ?? 'Observation';
      const comps = arr(r.component).filter(isObj);
      const value =
        valueText(r) ??
        (comps.length
          ? comps
              .map((c) => (isObj(c.valueQuantity) ? str(c.valueQuantity.value) : valueText(c)))
              .filter(Boolean)
              .join('/') +
            (isObj(comps[0]?.valueQuantity) ? ` ${str(comps[0].valueQuantity.unit) ?? ''}` : '')
          : undefined);
      return value ? `${name}: ${value.trim()}` : name;
    }
    case 'MedicationRequest':
    case 'MedicationStatement':
      return conceptText(r.medicationCodeableConcept) ?? referenceText(r.medicationReference) ?? 'Medication';
    case 'Encounter':
      return (
        conceptText(r.type) ??
        (isObj(r.class) ? (str(r.class.display) ?? str(r.class.code)) : undefined) ??
        'Encounter'
      );
    case 'Immunization':
      return conceptText(r.vaccineCode) ?? 'Immunization';
    case 'ImagingStudy':
      return (
        str(r.description) ?? `Imaging study${conceptText(r.modality) ? ` (${conceptText(r.modality)})` : ''}`
      );
    case 'DocumentReference':
      return str(r.description) ?? conceptText(r.type) ?? 'Document';
    case 'Patient': {
      const n = arr(r.name).find(isObj);
      const given = n ? arr(n.given).map(str).filter(Boolean).join(' ') : '';
      return n ? (str(n.text) ?? `${given} ${str(n.family) ?? ''}`.trim()) : 'Patient';
    }
    default:
      return conceptText(r.code) ?? conceptText(r.type) ?? type;
  }
}

/** Human names of FHIR resource types. */
export function typeLabel(type: string | undefined): string {
  if (!type) return 'Record';
  const labels: Record<string, string> = {
    Observation: 'Observation',
    Condition: 'Condition',
    MedicationRequest: 'Prescription',
    MedicationStatement: 'Medication',
    AllergyIntolerance: 'Allergy',
    Immunization: 'Immunisation',
    Encounter: 'Visit',
    DiagnosticReport: 'Report',
    ImagingStudy: 'Imaging',
    DocumentReference: 'Document',
    Procedure: 'Procedure',
    CarePlan: 'Care plan',
    Claim: 'Claim',
    ExplanationOfBenefit: 'Explanation of benefit',
  };
  return labels[type] ?? type.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/** True for vital-sign Observations (category vital-signs). */
export function isVitalSign(r: Json): boolean {
  return r.resourceType === 'Observation' && codes(r.category).some((c) => c.code === 'vital-signs');
}

/** Numeric points of an Observation, per series (components become their own series). */
export function vitalPoints(r: Json): { key: string; label: string; unit: string; value: number }[] {
  const out: { key: string; label: string; unit: string; value: number }[] = [];
  const push = (o: Json) => {
    const q = o.valueQuantity;
    if (!isObj(q) || typeof q.value !== 'number') return;
    const c = codes(o.code)[0];
    out.push({
      key: c?.code ?? conceptText(o.code) ?? '?',
      label: conceptText(o.code) ?? 'Value',
      unit: str(q.unit) ?? str(q.code) ?? '',
      value: q.value,
    });
  };
  push(r);
  for (const comp of arr(r.component)) if (isObj(comp)) push(comp);
  return out;
}

/** Decodes an inline text attachment (text/*, JSON) for display; undefined for binary or absent data. */
export function attachmentText(a: Json): string | undefined {
  const type = str(a.contentType) ?? '';
  const data = str(a.data);
  if (!data || !/^text\/|json|xml/.test(type)) return undefined;
  try {
    const bin = atob(data);
    const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
}
