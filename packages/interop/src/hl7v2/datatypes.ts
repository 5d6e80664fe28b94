/**
 * HL7 v2 data types (TS/DTM, CWE/CE, CX, XPN, XAD, XTN, XCN) to their FHIR R4 counterparts, following the
 * HL7 v2-to-FHIR mapping guide where it is unambiguous. Each function returns undefined for an empty value.
 */
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  HumanName,
  Identifier,
  Period,
} from '@medplum/fhirtypes';
import type { Rep } from './message.ts';

/** Where conversion notes go, and the sender's time zone for times that carry none. */
export interface Ctx {
  readonly warnings: string[];
  readonly defaultOffset: string | undefined;
}

const TS = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4}|Z)?$/;

/**
 * DTM/TS (`YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`) to a FHIR dateTime. A time without a zone takes the zone of
 * MSH-7; when that is missing too the time is dropped (FHIR requires a zone with a time) and a warning is added.
 */
export function dateTime(value: string, ctx: Ctx, where: string): string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const m = TS.exec(v);
  if (!m) {
    ctx.warnings.push(`${where}: not an HL7 date/time; left out`);
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  if (
    !validDate(Number(y), mo ? Number(mo) : 1, d ? Number(d) : 1) ||
    Number(h ?? 0) > 23 ||
    Number(mi ?? 0) > 59
  ) {
    ctx.warnings.push(`${where}: not a valid date/time; left out`);
    return undefined;
  }
  let out = y as string;
  if (mo) out += `-${mo}`;
  if (d) out += `-${d}`;
  if (!h || !mo || !d) return out;
  const zone = tz ?? ctx.defaultOffset;
  if (zone === undefined) {
    ctx.warnings.push(`${where}: time without a time zone (nor has MSH-7); kept the date only`);
    return out;
  }
  out += `T${h}:${mi ?? '00'}:${s ?? '00'}${frac && s ? frac : ''}`;
  return out + (zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`);
}

/** A FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) from a DT or DTM value; any time part is ignored. */
export function date(value: string, ctx: Ctx, where: string): string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const m = /^(\d{4})(\d{2})?(\d{2})?/.exec(v);
  if (!m || !validDate(Number(m[1]), m[2] ? Number(m[2]) : 1, m[3] ? Number(m[3]) : 1)) {
    ctx.warnings.push(`${where}: not an HL7 date; left out`);
    return undefined;
  }
  return [m[1], m[2], m[2] ? m[3] : undefined].filter(Boolean).join('-');
}

/** A FHIR instant (full precision with a zone) or undefined when the value is less precise. */
export function instant(value: string, ctx: Ctx, where: string): string | undefined {
  const quiet: Ctx = { warnings: [], defaultOffset: ctx.defaultOffset };
  const dt = dateTime(value, quiet, where);
  return dt?.includes('T') ? dt : undefined;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function period(start: string | undefined, end: string | undefined): Period | undefined {
  if (start === undefined && end === undefined) return undefined;
  return { ...(start !== undefined && { start }), ...(end !== undefined && { end }) };
}

const SYSTEMS: Record<string, string> = {
  LN: 'http://loinc.org',
  LOINC: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  SNOMED: 'http://snomed.info/sct',
  SNOMEDCT: 'http://snomed.info/sct',
  I9: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9CDX: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9M: 'http://hl7.org/fhir/sid/icd-9-cm',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  I10C: 'http://hl7.org/fhir/sid/icd-10-cm',
  ICD10CM: 'http://hl7.org/fhir/sid/icd-10-cm',
  CVX: 'http://hl7.org/fhir/sid/cvx',
  MVX: 'http://hl7.org/fhir/sid/mvx',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  C4: 'http://www.ama-assn.org/go/cpt',
  CPT: 'http://www.ama-assn.org/go/cpt',
  UCUM: 'http://unitsofmeasure.org',
  DCM: 'http://dicom.nema.org/resources/ontology/DCM',
  NCIT: 'http://ncimeta.nci.nih.gov',
  CDCREC: 'urn:oid:2.16.840.1.113883.6.238',
};

/** FHIR system URI for an HL7 v2 coding system name (HL70001 → v2-0001), or undefined when it is local. */
export function codeSystem(name: string): string | undefined {
  const n = name.trim().toUpperCase();
  if (n === '') return undefined;
  const known = SYSTEMS[n];
  if (known) return known;
  const table = /^HL7(\d{4})$/.exec(n);
  if (table) return `http://terminology.hl7.org/CodeSystem/v2-${table[1]}`;
  if (/^\d+(\.\d+)+$/.test(name.trim())) return `urn:oid:${name.trim()}`;
  return undefined;
}

function coding(code: string, display: string, system: string): Coding | undefined {
  if (code === '' && display === '') return undefined;
  if (code === '') return undefined;
  const uri = codeSystem(system);
  return { ...(uri !== undefined && { system: uri }), code, ...(display !== '' && { display }) };
}

/** CWE/CE/CNE (code^text^system^altCode^altText^altSystem^...^originalText) to a CodeableConcept. */
export function concept(rep: Rep | undefined): CodeableConcept | undefined {
  if (rep === undefined || rep.empty) return undefined;
  const codings = [coding(rep.c(1), rep.c(2), rep.c(3)), coding(rep.c(4), rep.c(5), rep.c(6))].filter(
    (c): c is Coding => c !== undefined,
  );
  const text = rep.c(9) || rep.c(2) || (codings.length === 0 ? rep.c(1) : '');
  if (codings.length === 0 && text === '') return undefined;
  return { ...(codings.length > 0 && { coding: codings }), ...(text !== '' && { text }) };
}

/** A bare code from a table into a CodeableConcept in that table's v2 code system (IS/ID fields). */
export function tableConcept(code: string, table: string, display?: string): CodeableConcept | undefined {
  if (code === '') return undefined;
  return {
    coding: [
      {
        system: `http://terminology.hl7.org/CodeSystem/v2-${table}`,
        code,
        ...(display !== undefined && display !== '' && { display }),
      },
    ],
  };
}

/** HD (namespace^universalId^type) as a FHIR system URI when it can be one. */
export function hdSystem(namespace: string, universalId: string, type: string): string | undefined {
  if (universalId !== '') {
    const t = type.toUpperCase();
    if (t === 'ISO' || /^\d+(\.\d+)+$/.test(universalId)) return `urn:oid:${universalId}`;
    if (t === 'UUID') return `urn:uuid:${universalId}`;
    if (/^[a-z][a-z0-9+.-]*:\S+$/i.test(universalId)) return universalId;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(namespace)) return namespace;
  return undefined;
}

/** CX (id^check^scheme^authority(HD)^typeCode^facility^from^to) to an Identifier. */
export function identifierCx(rep: Rep, ctx: Ctx, where: string): Identifier | undefined {
  const value = rep.c(1);
  if (value === '') return undefined;
  const authority = rep.sub(4);
  const system = hdSystem(authority.c(1), authority.c(2), authority.c(3));
  const assigner = authority.c(1) || authority.c(2);
  const type = rep.c(5);
  const p = period(dateTime(rep.c(7), ctx, where), dateTime(rep.c(8), ctx, where));
  return {
    value,
    ...(system !== undefined && { system }),
    ...(type !== '' && { type: tableConcept(type, '0203') as CodeableConcept }),
    ...(p !== undefined && { period: p }),
    ...(system === undefined && assigner !== '' && { assigner: { display: assigner } }),
  };
}

/** EI (entity^namespace^universalId^type) to an Identifier, optionally typed (PLAC, FILL, ...). */
export function identifierEi(rep: Rep | undefined, type?: string): Identifier | undefined {
  if (rep === undefined || rep.c(1) === '') return undefined;
  const system = hdSystem(rep.c(2), rep.c(3), rep.c(4));
  return {
    value: rep.c(1),
    ...(system !== undefined && { system }),
    ...(type !== undefined && { type: tableConcept(type, '0203') as CodeableConcept }),
    ...(system === undefined && rep.c(2) !== '' && { assigner: { display: rep.c(2) } }),
  };
}

const NAME_USE: Record<string, HumanName['use']> = {
  L: 'official',
  D: 'usual',
  M: 'maiden',
  N: 'nickname',
  A: 'anonymous',
  B: 'official',
  C: 'official',
  S: 'anonymous',
  T: 'temp',
  P: 'usual',
  R: 'official',
  U: 'usual',
};

function humanName(
  family: string,
  given: string[],
  suffix: string[],
  prefix: string,
  use: string,
): HumanName | undefined {
  const g = given.filter((x) => x !== '');
  const s = suffix.filter((x) => x !== '');
  if (family === '' && g.length === 0) return undefined;
  const u = NAME_USE[use.toUpperCase()];
  return {
    ...(u !== undefined && { use: u }),
    ...(family !== '' && { family }),
    ...(g.length > 0 && { given: g }),
    ...(prefix !== '' && { prefix: [prefix] }),
    ...(s.length > 0 && { suffix: s }),
  };
}

/** XPN (family(FN)^given^middle^suffix^prefix^degree^use) to a HumanName. */
export function nameXpn(rep: Rep): HumanName | undefined {
  return humanName(rep.s(1, 1), [rep.c(2), rep.c(3)], [rep.c(4), rep.c(6)], rep.c(5), rep.c(7));
}

/** The name part of XCN (id^family^given^middle^suffix^prefix^degree^...). */
export function nameXcn(rep: Rep): HumanName | undefined {
  return humanName(rep.s(2, 1), [rep.c(3), rep.c(4)], [rep.c(5), rep.c(7)], rep.c(6), rep.c(10));
}

const ADDRESS_USE: Record<string, Address['use']> = {
  H: 'home',
  B: 'work',
  O: 'work',
  C: 'temp',
  BA: 'old',
  T: 'temp',
};

/** XAD (street(SAD)^other^city^state^zip^country^type^...^county) to an Address. */
export function addressXad(rep: Rep, ctx: Ctx, where: string): Address | undefined {
  const line = [rep.s(1, 1), rep.c(2)].filter((l) => l !== '');
  const city = rep.c(3);
  const state = rep.c(4);
  const postalCode = rep.c(5);
  const country = rep.c(6);
  const district = rep.c(9);
  if (line.length === 0 && !city && !state && !postalCode && !country && !district) return undefined;
  const type = rep.c(7).toUpperCase();
  const use = ADDRESS_USE[type];
  const p = period(date(rep.s(12, 1) || rep.c(13), ctx, where), date(rep.s(12, 2) || rep.c(14), ctx, where));
  return {
    ...(use !== undefined && { use }),
    ...(type === 'M' && { type: 'postal' as const }),
    ...(line.length > 0 && { line }),
    ...(city !== '' && { city: city.trim() }),
    ...(district !== '' && { district }),
    ...(state !== '' && { state }),
    ...(postalCode !== '' && { postalCode }),
    ...(country !== '' && { country }),
    ...(p !== undefined && { period: p }),
  };
}

const TELECOM_USE: Record<string, ContactPoint['use']> = {
  PRN: 'home',
  ORN: 'home',
  VHN: 'temp',
  WPN: 'work',
  PRS: 'mobile',
  EMR: 'temp',
};

/** XTN (formatted^use^equipment^email^country^area^local^ext^...^unformatted) to a ContactPoint. */
export function telecomXtn(rep: Rep, defaultUse: ContactPoint['use']): ContactPoint | undefined {
  const useCode = rep.c(2).toUpperCase();
  const equipment = rep.c(3).toUpperCase();
  const email = rep.c(4);
  let system: ContactPoint['system'] = 'phone';
  if (equipment === 'INTERNET' || equipment === 'X.400' || useCode === 'NET') system = 'email';
  else if (equipment === 'FX') system = 'fax';
  else if (equipment === 'BP') system = 'pager';
  let value = system === 'email' ? email || rep.c(1) : rep.c(1) || rep.c(12);
  if (value === '' && system !== 'email') {
    const local = rep.c(7);
    if (local !== '') {
      value = [rep.c(5) && `+${rep.c(5)}`, rep.c(6) && `(${rep.c(6)})`, local].filter(Boolean).join(' ');
      if (rep.c(8) !== '') value += ` ext. ${rep.c(8)}`;
    } else if (email !== '') {
      system = 'email';
      value = email;
    }
  }
  if (value === '') return undefined;
  const use =
    equipment === 'CP' ? 'mobile' : (TELECOM_USE[useCode] ?? (useCode === '' ? defaultUse : undefined));
  return { system, value, ...(use !== undefined && system !== 'email' && { use }) };
}

const GENDER: Record<string, 'male' | 'female' | 'other' | 'unknown'> = {
  M: 'male',
  F: 'female',
  O: 'other',
  A: 'other',
  N: 'other',
  U: 'unknown',
};

/** Administrative sex (HL7 table 0001) to FHIR AdministrativeGender. */
export function gender(code: string): 'male' | 'female' | 'other' | 'unknown' | undefined {
  return GENDER[code.trim().toUpperCase()];
}

/** A decimal as FHIR accepts it, or undefined. */
export function decimal(value: string): number | undefined {
  const v = value.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
