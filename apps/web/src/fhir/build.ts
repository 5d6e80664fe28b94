/** Builds FHIR R4 resources from the provider's form: the common cases, coded with LOINC/UCUM where we know them. */
import type { Json } from './read.ts';

export type FormKind = 'vital' | 'lab' | 'condition' | 'medication' | 'allergy' | 'immunization' | 'note';

export const VITALS: Record<string, { loinc: string; display: string; unit: string; ucum: string }> = {
  'heart-rate': { loinc: '8867-4', display: 'Heart rate', unit: 'beats/min', ucum: '/min' },
  'body-weight': { loinc: '29463-7', display: 'Body weight', unit: 'kg', ucum: 'kg' },
  'body-temperature': { loinc: '8310-5', display: 'Body temperature', unit: '°C', ucum: 'Cel' },
  'oxygen-saturation': { loinc: '2708-6', display: 'Oxygen saturation', unit: '%', ucum: '%' },
  'respiratory-rate': { loinc: '9279-1', display: 'Respiratory rate', unit: 'breaths/min', ucum: '/min' },
  'blood-pressure': { loinc: '85354-9', display: 'Blood pressure', unit: 'mmHg', ucum: 'mm[Hg]' },
};

export type FormValues = Record<string, string>;

const num = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : Number(s));
const cc = (text: string, system?: string, code?: string) =>
  code ? { coding: [{ ...(system ? { system } : {}), code, display: text }], text } : { text };
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

function quantity(value: number, unit: string, ucum?: string) {
  return { value, unit, ...(ucum ? { system: UCUM, code: ucum } : {}) };
}

function category(code: string, display: string) {
  return [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code, display }],
    },
  ];
}

function mustNumber(v: number | undefined, what: string): number {
  if (v === undefined || Number.isNaN(v))
    throw Object.assign(new Error(`${what} must be a number.`), { name: 'InputError' });
  return v;
}

function must(v: string | undefined, what: string): string {
  if (!v?.trim()) throw Object.assign(new Error(`${what} is required.`), { name: 'InputError' });
  return v.trim();
}

/** Names a MedBloc account (the patient's address) in a FHIR Reference, as the node's FHIR gateway does. */
export const ACCOUNT_SYSTEM = 'https://medbloc.org/fhir/NamingSystem/account';

/**
 * The FHIR resource for a filled form, about the patient `owner` (R4 requires the subject of a Condition,
 * MedicationRequest, AllergyIntolerance or Immunization). Throws an InputError naming the first missing or bad field.
 */
export function buildResource(kind: FormKind, f: FormValues, owner?: string): Json {
  const when = f.date ? new Date(f.date).toISOString() : new Date().toISOString();
  const who = owner ? { type: 'Patient', identifier: { system: ACCOUNT_SYSTEM, value: owner } } : undefined;
  const subject = who ? { subject: who } : {};
  const patient = who ? { patient: who } : {};
  switch (kind) {
    case 'vital': {
      const v = VITALS[f.vital ?? 'heart-rate']!;
      if (f.vital === 'blood-pressure') {
        const comp = (loinc: string, display: string, value: number) => ({
          code: cc(display, LOINC, loinc),
          valueQuantity: quantity(value, 'mmHg', 'mm[Hg]'),
        });
        return {
          resourceType: 'Observation',
          status: 'final',
          category: category('vital-signs', 'Vital Signs'),
          code: cc(v.display, LOINC, v.loinc),
          ...subject,
          effectiveDateTime: when,
          component: [
            comp('8480-6', 'Systolic blood pressure', mustNumber(num(f.systolic), 'Systolic')),
            comp('8462-4', 'Diastolic blood pressure', mustNumber(num(f.diastolic), 'Diastolic')),
          ],
        };
      }
      return {
        resourceType: 'Observation',
        status: 'final',
        category: category('vital-signs', 'Vital Signs'),
        code: cc(v.display, LOINC, v.loinc),
        ...subject,
        effectiveDateTime: when,
        valueQuantity: quantity(mustNumber(num(f.value), 'Value'), v.unit, v.ucum),
      };
    }
    case 'lab': {
      const low = num(f.low);
      const high = num(f.high);
      const unit = f.unit?.trim() ?? '';
      const value = num(f.value);
      return {
        resourceType: 'Observation',
        status: 'final',
        category: category('laboratory', 'Laboratory'),
        code: cc(must(f.test, 'Test name'), LOINC, f.loinc?.trim() || undefined),
        ...subject,
        effectiveDateTime: when,
        ...(value !== undefined && !Number.isNaN(value)
          ? { valueQuantity: { value, unit } }
          : { valueString: must(f.value, 'Result') }),
        ...(low !== undefined || high !== undefined
          ? {
              referenceRange: [
                {
                  ...(low !== undefined ? { low: { value: low, unit } } : {}),
                  ...(high !== undefined ? { high: { value: high, unit } } : {}),
                },
              ],
            }
          : {}),
        ...(f.note?.trim() ? { note: [{ text: f.note.trim() }] } : {}),
      };
    }
    case 'condition':
      return {
        resourceType: 'Condition',
        clinicalStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
              code: f.clinicalStatus || 'active',
            },
          ],
        },
        code: cc(must(f.name, 'Condition')),
        ...subject,
        onsetDateTime: when,
        recordedDate: new Date().toISOString(),
        ...(f.note?.trim() ? { note: [{ text: f.note.trim() }] } : {}),
      };
    case 'medication':
      return {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: cc(must(f.medication, 'Medication')),
        ...subject,
        authoredOn: when,
        ...(f.dosage?.trim() ? { dosageInstruction: [{ text: f.dosage.trim() }] } : {}),
        ...(f.reason?.trim() ? { reasonCode: [cc(f.reason.trim())] } : {}),
      };
    case 'allergy':
      return {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
              code: 'active',
            },
          ],
        },
        code: cc(must(f.substance, 'Substance')),
        ...patient,
        criticality: f.criticality || 'low',
        recordedDate: when,
        ...(f.reaction?.trim() ? { reaction: [{ manifestation: [cc(f.reaction.trim())] }] } : {}),
      };
    case 'immunization':
      return {
        resourceType: 'Immunization',
        status: 'completed',
        vaccineCode: cc(must(f.vaccine, 'Vaccine')),
        ...patient,
        occurrenceDateTime: when,
        ...(f.lot?.trim() ? { lotNumber: f.lot.trim() } : {}),
      };
    case 'note': {
      const text = must(f.text, 'Note');
      const bytes = new TextEncoder().encode(text);
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      return {
        resourceType: 'DocumentReference',
        status: 'current',
        type: cc(f.title?.trim() || 'Clinical note', LOINC, '11506-3'),
        description: f.title?.trim() || 'Clinical note',
        ...subject,
        date: when,
        content: [
          {
            attachment: {
              contentType: 'text/plain; charset=utf-8',
              data: btoa(bin),
              title: f.title?.trim() || 'Note',
            },
          },
        ],
      };
    }
  }
}

/** The resources of a FHIR JSON document: a Bundle's entries, or the one resource. */
export function resourcesOf(doc: unknown): Json[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw Object.assign(new Error('Expected a FHIR resource (a JSON object with "resourceType").'), {
      name: 'InputError',
    });
  const r = doc as Json;
  if (typeof r.resourceType !== 'string')
    throw Object.assign(new Error('The JSON has no "resourceType": it is not a FHIR resource.'), {
      name: 'InputError',
    });
  if (r.resourceType !== 'Bundle') return [r];
  const entries = Array.isArray(r.entry) ? r.entry : [];
  const out = entries
    .map((e) => (typeof e === 'object' && e !== null ? (e as Json).resource : undefined))
    .filter(
      (x): x is Json => typeof x === 'object' && x !== null && typeof (x as Json).resourceType === 'string',
    );
  if (out.length === 0)
    throw Object.assign(new Error('The Bundle has no entries with resources.'), { name: 'InputError' });
  return out;
}
