/** SIU: SCH (+TQ1, AIS, AIG, AIL, AIP) → Appointment. */
import type { Appointment, AppointmentParticipant, CodeableConcept } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, identifierEi, instant } from './datatypes.ts';
import type { Segment } from './message.ts';
import { practitionerRef } from './patient.ts';

const FILLER_STATUS: Record<string, Appointment['status']> = {
  BOOKED: 'booked',
  OVERBOOK: 'booked',
  CONFIRMED: 'booked',
  PENDING: 'pending',
  WAITLIST: 'waitlist',
  WAITING: 'waitlist',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
  DC: 'cancelled',
  DELETED: 'entered-in-error',
  NOSHOW: 'noshow',
  COMPLETE: 'fulfilled',
  STARTED: 'arrived',
  BLOCKED: 'booked',
};
const TRIGGER_STATUS: Record<string, Appointment['status']> = {
  S12: 'booked',
  S13: 'booked',
  S14: 'booked',
  S15: 'cancelled',
  S16: 'cancelled',
  S17: 'entered-in-error',
  S26: 'noshow',
};

const MINUTES: Record<string, number> = {
  S: 1 / 60,
  SEC: 1 / 60,
  M: 1,
  MIN: 1,
  H: 60,
  HR: 60,
  HOUR: 60,
  D: 1440,
};

/** Duration in minutes from an amount and a units CE (s, min, h, d), or undefined. */
function minutes(amount: string, unit: string): number | undefined {
  const n = Number(amount);
  const factor = MINUTES[unit.toUpperCase().replace(/S$/, '') || 'MIN'] ?? MINUTES[unit.toUpperCase()];
  if (!Number.isFinite(n) || n <= 0 || factor === undefined) return undefined;
  const m = Math.round(n * factor);
  return m > 0 ? m : undefined;
}

function plusMinutes(start: string, m: number): string | undefined {
  const t = Date.parse(start);
  if (Number.isNaN(t)) return undefined;
  const offset = /([+-]\d{2}:\d{2}|Z)$/.exec(start)?.[1] ?? 'Z';
  if (offset === 'Z') return new Date(t + m * 60_000).toISOString().replace('.000Z', 'Z');
  const sign = offset.startsWith('-') ? -1 : 1;
  const shift = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const local = new Date(t + (m + shift) * 60_000).toISOString().slice(0, 19);
  return `${local}${offset}`;
}

export interface SchedulingGroup {
  readonly sch: Segment;
  readonly tq1: Segment | undefined;
  readonly resources: readonly Segment[];
  readonly notes: readonly Segment[];
}

/** One appointment; the patient joins as a participant when the message has one. */
export function appointment(
  group: SchedulingGroup,
  trigger: string,
  patient: Ref | undefined,
  b: BundleBuilder,
  ctx: Ctx,
): Appointment {
  const { sch, tq1 } = group;
  const at = (n: number) => `line ${sch.line} (SCH-${n})`;
  const timing = sch.rep(11);
  const firstResource = group.resources.find((s) => s.name === 'AIS') ?? group.resources[0];
  const resourceStart = firstResource ? firstResource.str(firstResource.name === 'AIS' ? 4 : 6) : '';
  const start = instant(tq1?.str(7) || timing.c(4) || resourceStart, ctx, at(11));
  let end = instant(tq1?.str(8) || timing.c(5), ctx, at(11));
  const duration =
    minutes(sch.str(9), sch.str(10)) ??
    (firstResource?.name === 'AIS'
      ? minutes(firstResource.str(7), firstResource.str(8))
      : firstResource
        ? minutes(firstResource.str(9), firstResource.str(10))
        : undefined);
  if (end === undefined && start !== undefined && duration !== undefined) end = plusMinutes(start, duration);
  let status =
    FILLER_STATUS[sch.rep(25).c(1).toUpperCase().replace(/[\s-]/g, '')] ??
    TRIGGER_STATUS[trigger] ??
    'booked';
  if ((start === undefined || end === undefined) && !['proposed', 'cancelled', 'waitlist'].includes(status)) {
    ctx.warnings.push(`${at(11)}: appointment ${status} without a start and end time; recorded as proposed`);
    status = 'proposed';
  }
  const participant: AppointmentParticipant[] = [];
  const partStatus: AppointmentParticipant['status'] = status === 'cancelled' ? 'declined' : 'accepted';
  if (patient) participant.push({ actor: patient, status: partStatus });
  const services: CodeableConcept[] = [];
  for (const seg of group.resources) {
    if (seg.name === 'AIP') {
      const actor = practitionerRef(seg.rep(3), b);
      const role = concept(seg.rep(4));
      if (actor || role)
        participant.push(
          clean<AppointmentParticipant>({ type: role ? [role] : undefined, actor, status: partStatus }),
        );
    } else if (seg.name === 'AIL') {
      const loc = seg.rep(3);
      const name = [loc.c(4), loc.c(1), loc.c(2), loc.c(3)].filter(Boolean).join(' ');
      const role = concept(seg.rep(4));
      if (name || role) {
        participant.push(
          clean<AppointmentParticipant>({
            type: role ? [role] : undefined,
            actor: name ? { display: name } : undefined,
            status: partStatus,
          }),
        );
      }
    } else if (seg.name === 'AIG') {
      const res = seg.rep(3);
      const type = concept(seg.rep(4));
      if (!res.empty || type) {
        participant.push(
          clean<AppointmentParticipant>({
            type: type ? [type] : undefined,
            actor: res.empty ? undefined : { display: res.c(2) || res.c(1) },
            status: partStatus,
          }),
        );
      }
    } else if (seg.name === 'AIS') {
      const svc = concept(seg.rep(3));
      if (svc) services.push(svc);
    }
  }
  if (participant.length === 0) {
    ctx.warnings.push(`${at(1)}: appointment names no participant; added an unknown one`);
    participant.push({ type: [{ text: 'unknown' }], status: 'needs-action' });
  }
  return clean<Appointment>({
    resourceType: 'Appointment',
    identifier: defined([identifierEi(sch.rep(1), 'PLAC'), identifierEi(sch.rep(2), 'FILL')]),
    status,
    cancelationReason: status === 'cancelled' ? concept(sch.rep(6)) : undefined,
    serviceType: services,
    appointmentType: concept(sch.rep(8)),
    reasonCode: defined([concept(sch.rep(7))]),
    description: sch.rep(7).c(2) || undefined,
    start,
    end,
    minutesDuration: duration,
    comment:
      group.notes
        .map((n) => n.text(3))
        .filter(Boolean)
        .join('\n') || undefined,
    participant,
  });
}
