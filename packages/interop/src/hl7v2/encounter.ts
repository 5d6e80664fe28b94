/** PV1 (+PV2) → Encounter. */
import type { Coding, Encounter, EncounterParticipant } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, dateTime, identifierCx, period, tableConcept } from './datatypes.ts';
import type { Segment } from './message.ts';
import { practitionerRef } from './patient.ts';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CLASS: Record<string, Coding> = {
  I: { system: ACT_CODE, code: 'IMP', display: 'inpatient encounter' },
  O: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
  E: { system: ACT_CODE, code: 'EMER', display: 'emergency' },
  P: { system: ACT_CODE, code: 'PRENC', display: 'pre-admission' },
  R: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
  B: { system: ACT_CODE, code: 'IMP', display: 'inpatient encounter' },
  C: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
};

const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ROLES: [number, string, string][] = [
  [7, 'ATND', 'attender'],
  [8, 'REF', 'referrer'],
  [9, 'CON', 'consultant'],
  [17, 'ADM', 'admitter'],
];

/**
 * Encounter status from the trigger event (A03 discharge → finished, A11/A13 cancellations → cancelled) and
 * otherwise from the visit dates PV1-44/45.
 */
function status(trigger: string, admitted: boolean, discharged: boolean): Encounter['status'] {
  if (trigger === 'A03' || discharged) return 'finished';
  if (trigger === 'A11' || trigger === 'A27') return 'cancelled';
  if (trigger === 'A05' || trigger === 'A14') return 'planned';
  if (trigger === 'A01' || trigger === 'A04' || trigger === 'A02' || trigger === 'A06' || trigger === 'A07')
    return 'in-progress';
  return admitted ? 'in-progress' : 'unknown';
}

export function encounterFromPv1(
  pv1: Segment,
  pv2: Segment | undefined,
  patient: Ref,
  trigger: string,
  b: BundleBuilder,
  ctx: Ctx,
): Encounter {
  const at = (n: number) => `line ${pv1.line} (PV1-${n})`;
  const classCode = pv1.str(2).toUpperCase();
  let klass = CLASS[classCode];
  if (klass === undefined) {
    klass =
      classCode === ''
        ? { system: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor', code: 'UNK', display: 'unknown' }
        : { system: 'http://terminology.hl7.org/CodeSystem/v2-0004', code: pv1.str(2) };
    ctx.warnings.push(
      `${at(2)}: patient class "${pv1.str(2)}" has no FHIR equivalent; kept as ${klass.code}`,
    );
  }
  const start = defined(pv1.reps(44).map((r) => dateTime(r.c(1), ctx, at(44))))[0];
  const end = defined(pv1.reps(45).map((r) => dateTime(r.c(1), ctx, at(45))))[0];
  const participant: EncounterParticipant[] = [];
  for (const [field, code, display] of ROLES) {
    for (const rep of pv1.reps(field)) {
      const individual = practitionerRef(rep, b);
      if (individual)
        participant.push({ type: [{ coding: [{ system: PARTICIPATION, code, display }] }], individual });
    }
  }
  const location = pv1.rep(3);
  const locationName = [location.c(4), location.c(1), location.c(2), location.c(3)].filter(Boolean).join(' ');
  const visit = pv1.rep(19);
  const reason = pv2 ? concept(pv2.rep(3)) : undefined;
  const admitSource = pv1.str(14);
  const discharge = pv1.str(36);
  return clean<Encounter>({
    resourceType: 'Encounter',
    identifier: defined([visit.empty ? undefined : identifierCx(visit, ctx, at(19))]),
    status: status(trigger, start !== undefined, end !== undefined),
    class: klass,
    type: defined([pv1.str(4) ? tableConcept(pv1.str(4), '0007') : undefined]),
    serviceType: pv1.str(10) ? tableConcept(pv1.str(10), '0069') : undefined,
    subject: patient,
    participant,
    period: period(start, end),
    reasonCode: defined([reason]),
    hospitalization:
      admitSource || discharge
        ? clean({
            admitSource: admitSource ? tableConcept(admitSource, '0023') : undefined,
            dischargeDisposition: discharge ? tableConcept(discharge, '0112') : undefined,
          })
        : undefined,
    location: locationName ? [{ location: { display: locationName } }] : undefined,
  });
}
