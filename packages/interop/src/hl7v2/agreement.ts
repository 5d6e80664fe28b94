/**
 * Compares a converted bundle with a reference bundle on meaning (patient identity, demographics, observation
 * codes/values/units and resource counts), for measuring agreement with other converters. Used by the tests.
 */
import type { Bundle, Observation, Patient, Resource } from '@medplum/fhirtypes';

/** Resource types this converter produces, and so the only ones whose counts are compared. */
export const COMPARED_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'DiagnosticReport',
  'Immunization',
  'ServiceRequest',
  'DocumentReference',
  'Appointment',
  'AllergyIntolerance',
  'Condition',
  'RelatedPerson',
] as const;

export interface FieldTally {
  agree: number;
  total: number;
}

export type Agreement = Record<string, FieldTally>;

function resources(bundle: Bundle): Resource[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined);
}

function ofType<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return resources(bundle).filter((r): r is T => r.resourceType === type);
}

function tally(a: Agreement, field: string, ok: boolean): void {
  const t = a[field] ?? { agree: 0, total: 0 };
  t.total++;
  if (ok) t.agree++;
  a[field] = t;
}

function obsKey(o: Observation): string {
  return o.code?.coding?.[0]?.code ?? o.code?.text ?? '';
}

function obsValue(o: Observation): string | undefined {
  if (o.valueQuantity) return `q:${o.valueQuantity.value}`;
  if (o.valueString !== undefined) return `s:${o.valueString.trim()}`;
  if (o.valueCodeableConcept)
    return `c:${o.valueCodeableConcept.coding?.[0]?.code ?? o.valueCodeableConcept.text}`;
  if (o.valueDateTime) return `d:${o.valueDateTime.slice(0, 10)}`;
  if (o.valueRange) return `r:${o.valueRange.low?.value}-${o.valueRange.high?.value}`;
  if (o.valueRatio) return `ratio:${o.valueRatio.numerator?.value}/${o.valueRatio.denominator?.value}`;
  return undefined;
}

/** Adds one message's comparison to `into` (field → agree/total). */
export function compareBundles(actual: Bundle, expected: Bundle, into: Agreement): void {
  const [mine] = ofType<Patient>(actual, 'Patient');
  const [theirs] = ofType<Patient>(expected, 'Patient');
  if (theirs) {
    const ids = new Set((theirs.identifier ?? []).map((i) => i.value));
    const myIds = (mine?.identifier ?? []).map((i) => i.value);
    tally(into, 'patient.identifier', myIds.length > 0 && myIds.every((v) => ids.has(v)));
    const n = theirs.name?.[0];
    const m = mine?.name?.[0];
    if (n) {
      tally(into, 'patient.name.family', (m?.family ?? '') === (n.family ?? ''));
      tally(into, 'patient.name.given', (m?.given ?? []).join(' ') === (n.given ?? []).join(' '));
    }
    if (theirs.birthDate) tally(into, 'patient.birthDate', mine?.birthDate === theirs.birthDate);
    if (theirs.gender) tally(into, 'patient.gender', mine?.gender === theirs.gender);
  }
  const myObs = new Map<string, Observation[]>();
  for (const o of ofType<Observation>(actual, 'Observation'))
    myObs.set(obsKey(o), [...(myObs.get(obsKey(o)) ?? []), o]);
  for (const o of ofType<Observation>(expected, 'Observation')) {
    const candidates = myObs.get(obsKey(o)) ?? [];
    tally(into, 'observation.code', candidates.length > 0);
    const value = obsValue(o);
    if (value !== undefined)
      tally(
        into,
        'observation.value',
        candidates.some((c) => obsValue(c) === value),
      );
    const unit = o.valueQuantity?.unit ?? o.valueQuantity?.code;
    if (unit !== undefined) {
      tally(
        into,
        'observation.unit',
        candidates.some(
          (c) => (c.valueQuantity?.code ?? c.valueQuantity?.unit) === unit || c.valueQuantity?.unit === unit,
        ),
      );
    }
  }
  for (const type of COMPARED_TYPES) {
    const want = resources(expected).filter((r) => r.resourceType === type).length;
    const got = resources(actual).filter((r) => r.resourceType === type).length;
    if (want > 0 || got > 0) tally(into, `count.${type}`, want === got);
  }
}
