/** ORC/OBR → ServiceRequest (the order) and OBR → DiagnosticReport (the results it groups). */
import type { Attachment, DiagnosticReport, ServiceRequest } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, dateTime, identifierEi, instant, tableConcept } from './datatypes.ts';
import type { Segment } from './message.ts';
import { practitionerRef } from './patient.ts';

const ORDER_CONTROL: Record<string, ServiceRequest['status']> = {
  NW: 'active',
  OK: 'active',
  SC: 'active',
  XO: 'active',
  RP: 'active',
  RE: 'completed',
  CA: 'revoked',
  CR: 'revoked',
  DC: 'revoked',
  OC: 'revoked',
  OD: 'revoked',
  HD: 'on-hold',
  OH: 'on-hold',
};
const ORDER_STATUS: Record<string, ServiceRequest['status']> = {
  A: 'active',
  IP: 'active',
  SC: 'active',
  CM: 'completed',
  CA: 'revoked',
  DC: 'revoked',
  HD: 'on-hold',
  ER: 'entered-in-error',
};
const PRIORITY: Record<string, ServiceRequest['priority']> = {
  S: 'stat',
  A: 'asap',
  R: 'routine',
  P: 'urgent',
  T: 'urgent',
};

export interface OrderLinks {
  readonly patient: Ref;
  readonly encounter: Ref | undefined;
}

/** The order from ORC (control, ids, times, people) and OBR (what is ordered); either may be missing. */
export function serviceRequest(
  orc: Segment | undefined,
  obr: Segment | undefined,
  links: OrderLinks,
  b: BundleBuilder,
  ctx: Ctx,
): ServiceRequest | undefined {
  const code = obr ? concept(obr.rep(4)) : undefined;
  const placer = identifierEi(orc?.rep(2).empty === false ? orc.rep(2) : obr?.rep(2), 'PLAC');
  const filler = identifierEi(orc?.rep(3).empty === false ? orc.rep(3) : obr?.rep(3), 'FILL');
  if (code === undefined && placer === undefined && filler === undefined) return undefined;
  const status =
    ORDER_STATUS[orc?.str(5).toUpperCase() ?? ''] ??
    ORDER_CONTROL[orc?.str(1).toUpperCase() ?? ''] ??
    (orc ? 'unknown' : 'active');
  const priorityCode = (obr?.str(5) || orc?.rep(7).c(6) || '').toUpperCase();
  const orcAt = (n: number) => `line ${orc?.line} (ORC-${n})`;
  const obrAt = (n: number) => `line ${obr?.line} (OBR-${n})`;
  return clean<ServiceRequest>({
    resourceType: 'ServiceRequest',
    identifier: defined([placer, filler]),
    status,
    intent: 'order',
    priority: PRIORITY[priorityCode],
    code,
    subject: links.patient,
    encounter: links.encounter,
    occurrenceDateTime: obr ? dateTime(obr.str(7), ctx, obrAt(7)) : undefined,
    authoredOn: orc ? dateTime(orc.str(9), ctx, orcAt(9)) : undefined,
    requester: practitionerRef(orc?.rep(12).empty === false ? orc.rep(12) : obr?.rep(16), b),
    reasonCode: defined(obr ? obr.reps(31).map((r) => concept(r)) : []),
  });
}

const REPORT_STATUS: Record<string, DiagnosticReport['status']> = {
  F: 'final',
  C: 'corrected',
  A: 'partial',
  P: 'preliminary',
  R: 'partial',
  S: 'partial',
  I: 'registered',
  O: 'registered',
  X: 'cancelled',
  Y: 'unknown',
  Z: 'unknown',
  M: 'partial',
};

/** OBR as a DiagnosticReport; its results and presented forms are filled in as the OBX segments are read. */
export function diagnosticReport(
  obr: Segment,
  basedOn: Ref | undefined,
  links: OrderLinks,
  b: BundleBuilder,
  ctx: Ctx,
): DiagnosticReport | undefined {
  const at = (n: number) => `line ${obr.line} (OBR-${n})`;
  const code = concept(obr.rep(4));
  if (code === undefined) {
    ctx.warnings.push(`${at(4)}: universal service identifier is empty; no DiagnosticReport made`);
    return undefined;
  }
  const statusCode = obr.str(25).toUpperCase();
  const interpreter = obr.rep(32);
  return clean<DiagnosticReport>({
    resourceType: 'DiagnosticReport',
    identifier: defined([identifierEi(obr.rep(3), 'FILL'), identifierEi(obr.rep(2), 'PLAC')]),
    basedOn: basedOn ? [basedOn] : undefined,
    status: REPORT_STATUS[statusCode] ?? 'unknown',
    category: defined([obr.str(24) ? tableConcept(obr.str(24), '0074') : undefined]),
    code,
    subject: links.patient,
    encounter: links.encounter,
    effectiveDateTime: dateTime(obr.str(7), ctx, at(7)),
    issued: instant(obr.str(22), ctx, at(22)),
    resultsInterpreter: defined([interpreter.empty ? undefined : practitionerRef(interpreter.sub(1), b)]),
  });
}

/** HL7 table 0191 (type of referenced data) to the top-level media type. */
const MEDIA_TYPE: Record<string, string> = {
  AP: 'application',
  APPLICATION: 'application',
  AU: 'audio',
  AUDIO: 'audio',
  IM: 'image',
  IMAGE: 'image',
  TX: 'text',
  TEXT: 'text',
  VIDEO: 'video',
  MULTIPART: 'multipart',
};

/** ED (source^type^subtype^encoding^data) as an Attachment, or undefined when it carries no content type or data. */
export function attachmentFromEd(rep: { c(n: number): string }): Attachment | undefined {
  const type = MEDIA_TYPE[rep.c(2).toUpperCase()] ?? rep.c(2).toLowerCase();
  const subtype = rep.c(3).toLowerCase();
  const encoding = rep.c(4).toUpperCase();
  const data = rep.c(5);
  const contentType = type.includes('/')
    ? type
    : subtype
      ? `${type}/${subtype}`
      : type === 'text'
        ? 'text/plain'
        : '';
  if (contentType === '' && data === '') return undefined;
  const bytes =
    data === ''
      ? undefined
      : encoding === 'BASE64' || encoding === 'B64'
        ? data.replace(/\s+/g, '')
        : Buffer.from(data, 'utf8').toString('base64');
  return clean<Attachment>({ contentType: contentType || 'application/octet-stream', data: bytes });
}
