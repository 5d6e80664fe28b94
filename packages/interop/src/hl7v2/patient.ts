/** PID → Patient, NK1 → RelatedPerson, XCN → Practitioner. */
import type { CodeableConcept, Identifier, Patient, Practitioner, RelatedPerson } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import {
  addressXad,
  type Ctx,
  concept,
  date,
  dateTime,
  gender,
  hdSystem,
  identifierCx,
  nameXcn,
  nameXpn,
  tableConcept,
  telecomXtn,
} from './datatypes.ts';
import { Rep, type Segment } from './message.ts';

const MARITAL: Record<string, string> = {
  M: 'M',
  S: 'S',
  D: 'D',
  W: 'W',
  A: 'L',
  E: 'L',
  N: 'A',
  I: 'I',
  P: 'T',
  R: 'T',
  B: 'U',
};

/** PID: identifiers (PID-2/3/4/19/20), names, birth date, gender, addresses, telecom, marital status, death. */
export function patientFromPid(pid: Segment, ctx: Ctx): Patient {
  const at = (n: number) => `line ${pid.line} (PID-${n})`;
  const ids: (Identifier | undefined)[] = [];
  for (const n of [2, 3, 4]) for (const r of pid.reps(n)) ids.push(identifierCx(r, ctx, at(n)));
  const ssn = pid.str(19);
  if (ssn !== '') {
    ids.push({
      system: 'http://hl7.org/fhir/sid/us-ssn',
      value: ssn,
      type: tableConcept('SS', '0203') as CodeableConcept,
    });
  }
  const dl = pid.rep(20);
  if (dl.c(1) !== '') {
    ids.push(
      clean<Identifier>({
        value: dl.c(1),
        type: tableConcept('DL', '0203'),
        period: periodEnd(date(dl.c(3), ctx, at(20))),
      }),
    );
  }
  const marital = pid.rep(16);
  const maritalCode = MARITAL[marital.c(1).toUpperCase()];
  const deathTime = dateTime(pid.str(29), ctx, at(29));
  const deathFlag = pid.str(30).toUpperCase();
  const birthOrder = Number.parseInt(pid.str(25), 10);
  const language = concept(pid.rep(15));
  return clean<Patient>({
    resourceType: 'Patient',
    identifier: dedupeIdentifiers(defined(ids)),
    active: true,
    name: defined(pid.reps(5).map(nameXpn)),
    telecom: defined([
      ...pid.reps(13).map((r) => telecomXtn(r, 'home')),
      ...pid.reps(14).map((r) => telecomXtn(r, 'work')),
    ]),
    gender: gender(pid.str(8)),
    birthDate: date(pid.str(7), ctx, at(7)),
    deceasedDateTime: deathTime,
    deceasedBoolean:
      deathTime === undefined && (deathFlag === 'Y' || deathFlag === 'N') ? deathFlag === 'Y' : undefined,
    address: defined(pid.reps(11).map((r) => addressXad(r, ctx, at(11)))),
    maritalStatus:
      maritalCode !== undefined
        ? {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: maritalCode }],
            ...(marital.c(2) !== '' && { text: marital.c(2) }),
          }
        : concept(marital),
    multipleBirthInteger: pid.str(24).toUpperCase() === 'Y' && birthOrder > 0 ? birthOrder : undefined,
    multipleBirthBoolean:
      pid.str(24).toUpperCase() === 'N' || (pid.str(24).toUpperCase() === 'Y' && !(birthOrder > 0))
        ? pid.str(24).toUpperCase() === 'Y'
        : undefined,
    communication: language ? [{ language }] : undefined,
  });
}

function periodEnd(end: string | undefined) {
  return end === undefined ? undefined : { end };
}

function dedupeIdentifiers(ids: Identifier[]): Identifier[] {
  const seen = new Set<string>();
  return ids.filter((i) => {
    const key = `${i.system ?? ''}|${i.value ?? ''}|${i.type?.coding?.[0]?.code ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** MRG: the record being merged away, as an inactive Patient that points at the surviving one. */
export function mergedPatient(mrg: Segment, survivor: Ref, ctx: Ctx): Patient | undefined {
  const at = (n: number) => `line ${mrg.line} (MRG-${n})`;
  const ids = defined([...mrg.reps(1), ...mrg.reps(4)].map((r) => identifierCx(r, ctx, at(1))));
  if (ids.length === 0) return undefined;
  return clean<Patient>({
    resourceType: 'Patient',
    identifier: dedupeIdentifiers(ids),
    active: false,
    name: defined(mrg.reps(7).map(nameXpn)),
    link: [{ other: survivor, type: 'replaced-by' }],
  });
}

/** NK1: next of kin / associated party, when it names a person or a relationship. */
export function relatedPersonFromNk1(nk1: Segment, patient: Ref, ctx: Ctx): RelatedPerson | undefined {
  const at = (n: number) => `line ${nk1.line} (NK1-${n})`;
  const name = defined(nk1.reps(2).map(nameXpn));
  const relationship = nk1.rep(3);
  const contactRole = nk1.rep(7);
  if (name.length === 0 && relationship.empty) return undefined;
  const rel = relationship.empty
    ? undefined
    : (concept(
        relationship.c(3) === '' ? withSystem(relationship, 'HL70063') : relationship,
      ) as CodeableConcept);
  return clean<RelatedPerson>({
    resourceType: 'RelatedPerson',
    identifier: defined(nk1.reps(33).map((r) => identifierCx(r, ctx, at(33)))),
    patient,
    relationship: defined([rel, contactRole.empty ? undefined : concept(contactRole)]),
    name,
    telecom: defined([
      ...nk1.reps(5).map((r) => telecomXtn(r, 'home')),
      ...nk1.reps(6).map((r) => telecomXtn(r, 'work')),
    ]),
    address: defined(nk1.reps(4).map((r) => addressXad(r, ctx, at(4)))),
    gender: gender(nk1.str(15)),
    birthDate: date(nk1.str(16), ctx, at(16)),
    period:
      nk1.str(8) || nk1.str(9)
        ? clean({ start: date(nk1.str(8), ctx, at(8)), end: date(nk1.str(9), ctx, at(9)) })
        : undefined,
  });
}

function withSystem(rep: Rep, system: string): Rep {
  const comps = rep.comps.map((c) => [...c]);
  while (comps.length < 3) comps.push(['']);
  comps[2] = [system];
  return new Rep(comps);
}

/**
 * XCN (id^family^given^middle^suffix^prefix^degree^source^authority(HD)^...) → one Practitioner per person named
 * in the message; returns a reference to it, or undefined for an empty field.
 */
export function practitionerRef(rep: Rep | undefined, b: BundleBuilder): Ref | undefined {
  if (rep === undefined || rep.empty) return undefined;
  const name = nameXcn(rep);
  const id = rep.c(1);
  if (name === undefined && id === '') return undefined;
  const authority = rep.sub(9);
  const system = hdSystem(authority.c(1), authority.c(2), authority.c(3));
  const identifier: Identifier | undefined =
    id === ''
      ? undefined
      : clean<Identifier>({
          value: id,
          system,
          assigner: system === undefined && authority.c(1) !== '' ? { display: authority.c(1) } : undefined,
          type: rep.c(13) ? tableConcept(rep.c(13), '0203') : undefined,
        });
  const display = name ? [name.given?.join(' '), name.family].filter(Boolean).join(' ') : id;
  return b.addOnce(
    `Practitioner|${id}|${name?.family ?? ''}|${name?.given?.join(' ') ?? ''}`,
    () =>
      clean<Practitioner>({
        resourceType: 'Practitioner',
        identifier: identifier ? [identifier] : undefined,
        name: name ? [name] : undefined,
      }),
    display,
  );
}
