/**
 * HL7 v2 message → FHIR R4 Bundle. Walks the segments in order, keeping the context HL7 implies by position
 * (the patient of PID, the visit of PV1, the order of ORC/OBR, the vaccination of RXA, the document of TXA) and
 * hands each segment to the mapping for its resource type.
 */
import type {
  Bundle,
  DiagnosticReport,
  DocumentReference,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import { appointment } from './appointment.ts';
import { BundleBuilder, type Ref } from './bundle.ts';
import { allergy, condition } from './clinical.ts';
import { type Ctx, instant } from './datatypes.ts';
import { documentContent, documentFromObx, documentReference, isDocumentBody } from './document.ts';
import { encounterFromPv1 } from './encounter.ts';
import { Hl7v2Error, Hl7v2UnsupportedError } from './errors.ts';
import { immunization } from './immunization.ts';
import { parseHl7v2, type Segment } from './message.ts';
import { isDocumentValue, observationFromObx } from './observation.ts';
import { attachmentFromEd, diagnosticReport, serviceRequest } from './orders.ts';
import { mergedPatient, patientFromPid, relatedPersonFromNk1 } from './patient.ts';

/** What {@link convertHl7v2} returns: the resources, and notes on anything it left out or adjusted. */
export interface Hl7v2Conversion {
  /** A `collection` Bundle; entries have `urn:uuid` fullUrls and refer to each other by them. */
  readonly bundle: Bundle;
  /** Human-readable notes naming line and field (never values of identifiers or names). */
  readonly warnings: string[];
}

/** Message types (MSH-9.1) this converter maps; any trigger event of these is accepted. */
export const SUPPORTED_HL7V2_MESSAGES: readonly string[] = [
  'ADT',
  'ORU',
  'OUL',
  'VXU',
  'ORM',
  'OML',
  'OMG',
  'MDM',
  'SIU',
];

const ORDER_MESSAGES = new Set(['ORM', 'OML', 'OMG']);
const RESULT_MESSAGES = new Set(['ORU', 'OUL']);
/** Segments read as part of another one, or that carry nothing a patient record needs. */
const QUIET = new Set([
  'MSH',
  'EVN',
  'SFT',
  'PD1',
  'PV2',
  'TQ1',
  'TQ2',
  'RXR',
  'NTE',
  'RGS',
  'UAC',
  'ARV',
  'ROL',
]);

/**
 * Converts one HL7 v2 message (ADT, ORU, OUL, VXU, ORM, OML, OMG, MDM, SIU) to a FHIR R4 collection Bundle:
 * Patient, RelatedPerson, Encounter, Practitioner, Observation, DiagnosticReport, ServiceRequest, Immunization,
 * DocumentReference, Appointment, AllergyIntolerance and Condition. Pure: the same text always gives the same
 * bundle, ids included.
 *
 * @throws Hl7v2UnsupportedError (`HL7V2_UNSUPPORTED`) for other message types.
 * @throws Hl7v2Error (`HL7V2_INVALID`) for text that is not an HL7 v2 message or lacks what a mapping requires;
 *   the message starts with `line N (SEG): `.
 * @example
 * const { bundle, warnings } = convertHl7v2(readFileSync('adt.hl7', 'utf8'));
 * const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource;
 */
export function convertHl7v2(text: string): Hl7v2Conversion {
  const msg = parseHl7v2(text);
  const msh = msg.segments[0] as Segment;
  if (!SUPPORTED_HL7V2_MESSAGES.includes(msg.messageCode)) {
    throw new Hl7v2UnsupportedError(
      msg.triggerEvent ? `${msg.messageCode}^${msg.triggerEvent}` : msg.messageCode,
      {
        line: msh.line,
        segment: 'MSH',
      },
    );
  }
  const warnings: string[] = [];
  const ctx: Ctx = { warnings, defaultOffset: msg.defaultOffset };
  const b = new BundleBuilder(text);
  const segs = msg.segments;

  // Patients first: in SIU the schedule (SCH) comes before PID, and every clinical resource needs its subject.
  const patientOf = new Map<Segment, Ref>();
  for (const pid of segs.filter((s) => s.name === 'PID')) {
    const p = patientFromPid(pid, ctx);
    const name = p.name?.[0];
    patientOf.set(
      pid,
      b.add(p, name ? [name.given?.join(' '), name.family].filter(Boolean).join(' ') : undefined),
    );
  }
  let patient: Ref | undefined = patientOf.values().next().value;
  const needPatient = (seg: Segment): Ref => {
    if (patient === undefined) {
      throw new Hl7v2Error(`${seg.name} needs a patient but the message has no PID segment`, {
        line: seg.line,
        segment: seg.name,
      });
    }
    return patient;
  };

  let encounter: Ref | undefined;
  let orc: { seg: Segment; used: boolean } | undefined;
  let order: ServiceRequest | undefined;
  let orderRef: Ref | undefined;
  let report: DiagnosticReport | undefined;
  let effective: string | undefined;
  let vaccination: Ref | undefined;
  let doc: { resource: DocumentReference; obx: Segment[] } | undefined;
  let noteTarget: Resource | undefined;
  const docs: { resource: DocumentReference; obx: Segment[] }[] = [];
  const schedules: { sch: Segment; tq1: Segment | undefined; resources: Segment[]; notes: Segment[] }[] = [];
  const skipped = new Map<string, number>();
  const reportText = new Map<DiagnosticReport, string[]>();

  const flushOrc = () => {
    if (orc && !orc.used && ORDER_MESSAGES.has(msg.messageCode)) {
      const sr = serviceRequest(orc.seg, undefined, { patient: needPatient(orc.seg), encounter }, b, ctx);
      if (sr) b.add(sr);
    }
  };
  const resetGroup = () => {
    order = undefined;
    orderRef = undefined;
    report = undefined;
    effective = undefined;
    vaccination = undefined;
    doc = undefined;
  };

  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as Segment;
    const next = segs[i + 1];
    switch (seg.name) {
      case 'PID':
        patient = patientOf.get(seg);
        encounter = undefined;
        noteTarget = undefined;
        break;
      case 'MRG': {
        const old = mergedPatient(seg, needPatient(seg), ctx);
        if (old) b.add(old);
        break;
      }
      case 'NK1': {
        const rp = relatedPersonFromNk1(seg, needPatient(seg), ctx);
        if (rp) b.add(rp);
        break;
      }
      case 'PV1': {
        const pv2 = next?.name === 'PV2' ? next : undefined;
        encounter = b.add(encounterFromPv1(seg, pv2, needPatient(seg), msg.triggerEvent, b, ctx));
        break;
      }
      case 'AL1':
      case 'IAM': {
        const a = allergy(seg, needPatient(seg), encounter, ctx);
        if (a) b.add(a);
        noteTarget = a;
        break;
      }
      case 'DG1': {
        const c = condition(seg, needPatient(seg), encounter, b, ctx);
        if (c) b.add(c);
        noteTarget = c;
        break;
      }
      case 'ORC':
        flushOrc();
        resetGroup();
        orc = { seg, used: false };
        break;
      case 'OBR': {
        const o = orc && !orc.used ? orc.seg : undefined;
        if (orc) orc.used = true;
        resetGroup();
        const links = { patient: needPatient(seg), encounter };
        order = serviceRequest(o, seg, links, b, ctx);
        if (order) orderRef = b.add(order);
        noteTarget = order;
        effective = undefined;
        if (RESULT_MESSAGES.has(msg.messageCode)) {
          report = diagnosticReport(seg, orderRef, links, b, ctx);
          if (report) b.add(report);
          effective = report?.effectiveDateTime;
        }
        break;
      }
      case 'RXA': {
        const o = orc && !orc.used ? orc.seg : undefined;
        if (orc) orc.used = true;
        const rxr = next?.name === 'RXR' ? next : undefined;
        const imm = immunization(seg, rxr, o, needPatient(seg), encounter, b, ctx);
        vaccination = b.add(imm);
        noteTarget = imm;
        break;
      }
      case 'TXA': {
        resetGroup();
        doc = { resource: documentReference(seg, needPatient(seg), encounter, b, ctx), obx: [] };
        b.add(doc.resource);
        docs.push(doc);
        break;
      }
      case 'OBX': {
        if (doc && isDocumentBody(seg)) {
          doc.obx.push(seg);
          break;
        }
        if (isDocumentValue(seg)) {
          const forms = seg
            .reps(5)
            .map(attachmentFromEd)
            .filter((a) => a !== undefined);
          if (report && forms.length > 0) report.presentedForm = [...(report.presentedForm ?? []), ...forms];
          else if (forms.length > 0) b.add(documentFromObx(seg, forms, needPatient(seg), encounter));
          break;
        }
        if (report && seg.rep(3).empty && isDocumentBody(seg)) {
          // Report text sent as unlabelled OBX lines (common for imaging and transcription): the report's body.
          reportText.set(report, [...(reportText.get(report) ?? []), seg.text(5)]);
          break;
        }
        const obs = observationFromObx(
          seg,
          { patient, encounter, basedOn: orderRef, partOf: vaccination, effective },
          b,
          ctx,
        );
        if (obs) {
          const ref = b.add(obs);
          if (report) report.result = [...(report.result ?? []), ref];
        }
        noteTarget = obs;
        break;
      }
      case 'NTE': {
        const note = seg.text(3);
        if (note === '') break;
        if (noteTarget) {
          const target = noteTarget as { note?: { text: string }[] };
          target.note = [...(target.note ?? []), { text: note }];
        } else {
          schedules.at(-1)?.notes.push(seg);
        }
        break;
      }
      case 'SCH':
        schedules.push({ sch: seg, tq1: next?.name === 'TQ1' ? next : undefined, resources: [], notes: [] });
        noteTarget = undefined;
        break;
      case 'AIS':
      case 'AIG':
      case 'AIL':
      case 'AIP':
        schedules.at(-1)?.resources.push(seg);
        noteTarget = undefined;
        break;
      default:
        if (!QUIET.has(seg.name)) skipped.set(seg.name, (skipped.get(seg.name) ?? 0) + 1);
    }
  }
  flushOrc();

  for (const d of docs) documentContent(d.resource, d.obx);
  for (const [r, lines] of reportText) {
    const data = Buffer.from(lines.join('\n'), 'utf8').toString('base64');
    r.presentedForm = [{ contentType: 'text/plain; charset=utf-8', data }, ...(r.presentedForm ?? [])];
  }
  const firstPatient = patientOf.values().next().value;
  for (const s of schedules) b.add(appointment(s, msg.triggerEvent, firstPatient, b, ctx));

  if (skipped.size > 0) {
    warnings.push(
      `segments not converted: ${[...skipped].map(([name, n]) => (n > 1 ? `${name} (${n})` : name)).join(', ')}`,
    );
  }
  const bundle = b.build(instant(msh.str(7), ctx, `line ${msh.line} (MSH-7)`));
  return { bundle, warnings: [...new Set(warnings)] };
}
