/**
 * Read-only FHIR R4 views of patient control, built live from the identity's consent grants and access log (both
 * verifiable against the chain through the SDK); they are never stored as records and cannot be written.
 *
 * Grant → `Consent`
 *   id                      keccak256(owner, grantee, scope, purpose) without 0x
 *   status                  `active` while the grant is live on chain, else `inactive` (revoked or lapsed)
 *   scope                   consentscope `patient-privacy`
 *   category                LOINC 59284-0 "Patient Consent"
 *   patient                 the owner (identifier: Ethereum address; reference to its Patient resource when held)
 *   dateTime                block time of the latest grant or revocation
 *   performer               the signer: the patient, or the delegate who acted for it
 *   policyRule              v3-ActCode OPTIN (each grant is an opt-in)
 *   provision.type          `permit`
 *   provision.period        start = dateTime (when active), end = expiry (absent: until revoked)
 *   provision.actor         the grantee, role v3-ParticipationType IRCP (information recipient)
 *   provision.purpose       v3-ActReason TREAT (care) or HRESCH (research)
 *   provision.data          record grants: meaning `instance`, the record's resource (and its record id)
 *   provision.class / .securityLabel   category grants: the category's resource types, and the MedBloc category
 *
 * Access-log entry → `AuditEvent`
 *   id                      the receipt's Merkle leaf without 0x
 *   type / subtype          audit-event-type `rest` / restful-interaction `read` (`search-type` for a listing)
 *   action                  `R`
 *   recorded                when the node logged it
 *   outcome                 `0` served, `4` refused
 *   purposeOfEvent          v3-ActReason TREAT (care), HRESCH (research) or ETREAT (break-glass emergency)
 *   agent                   who = the requester (address), requestor = true
 *   source                  observer = the node that countersigned the receipt; type 4 (application server)
 *   entity                  what = the record read (role 4 domain resource) and the patient (role 1); details carry
 *                           the receipt leaf and, once anchored, the AccessLog root and transaction
 *
 * Search: `patient` (the owner's address or a Patient id this gateway holds), `date` (with eq/ge/gt/le/lt, on
 * Consent.dateTime and AuditEvent.recorded), `_id`, `_count`.
 */
import type { AuditEntry, GrantView } from '@medbloc/sdk';
import type { AuditEvent, Bundle, Coding, Consent, Reference, Resource } from '@medplum/fhirtypes';
import { encodeAbiParameters, keccak256 } from 'viem';

type Hex = `0x${string}`;

export const ADDRESS_SYSTEM = 'https://medbloc.org/fhir/sid/address';
export const RECORD_SYSTEM = 'https://medbloc.org/fhir/sid/record';
const CATEGORY_SYSTEM = 'https://medbloc.org/fhir/CodeSystem/category';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

/** The resource types of each MedBloc sharing category (what a category grant covers). */
const CATEGORY_TYPES: Record<string, string[]> = {
  labs: ['Observation', 'DiagnosticReport'],
  imaging: ['ImagingStudy', 'Media', 'Observation', 'DiagnosticReport'],
  medications: [
    'Medication',
    'MedicationRequest',
    'MedicationStatement',
    'MedicationAdministration',
    'MedicationDispense',
  ],
  notes: ['DocumentReference', 'DiagnosticReport', 'ClinicalImpression', 'Composition'],
  genomics: ['MolecularSequence', 'Observation', 'DiagnosticReport'],
};

/** What the views need to know about the gateway's identity. */
export interface ViewContext {
  /** The FHIR reference of a record's resource, if this gateway holds it. */
  referenceOf(recordId: Hex): string | undefined;
  /** The identity's own Patient resource ids (to answer `patient=Patient/<id>`). */
  patientIds(): string[];
  /** The identity's address. */
  self: Hex;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

function account(address: string, ctx: ViewContext): Reference<never> {
  const ref: Reference<never> = { identifier: { system: ADDRESS_SYSTEM, value: address } };
  const [patient] = ctx.patientIds();
  if (patient && address.toLowerCase() === ctx.self.toLowerCase()) ref.reference = `Patient/${patient}`;
  return ref;
}

function recordReference(recordId: Hex, ctx: ViewContext): Reference {
  const reference = ctx.referenceOf(recordId);
  return { ...(reference ? { reference } : {}), identifier: { system: RECORD_SYSTEM, value: recordId } };
}

export function consentOf(g: GrantView, ctx: ViewContext): Consent {
  const id = keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'bytes32' }, { type: 'string' }],
      [g.owner, g.grantee, g.scope, g.purpose],
    ),
  ).slice(2);
  const dateTime = iso(g.time);
  const category = g.kind === 'category' ? g.category : undefined;
  return {
    resourceType: 'Consent',
    id,
    meta: { lastUpdated: dateTime },
    status: g.live ? 'active' : 'inactive',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: account(g.owner, ctx),
    dateTime,
    performer: [account(g.signer, ctx)],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: {
        ...(g.live ? { start: dateTime } : {}),
        ...(g.expiresAt ? { end: iso(g.expiresAt) } : {}),
      },
      actor: [
        {
          role: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: 'IRCP',
                display: 'information recipient',
              },
            ],
          },
          reference: account(g.grantee, ctx),
        },
      ],
      purpose: [
        g.purpose === 'research'
          ? { system: ACT_REASON, code: 'HRESCH', display: 'healthcare research' }
          : { system: ACT_REASON, code: 'TREAT', display: 'treatment' },
      ],
      ...(g.kind === 'record'
        ? { data: [{ meaning: 'instance', reference: recordReference(g.scope, ctx) }] }
        : {}),
      ...(category
        ? {
            class: (CATEGORY_TYPES[category] ?? []).map(
              (code): Coding => ({ system: 'http://hl7.org/fhir/resource-types', code }),
            ),
            securityLabel: [{ system: CATEGORY_SYSTEM, code: category }],
          }
        : {}),
    },
  };
}

const PURPOSE_OF_EVENT: Record<number, Coding> = {
  1: { system: ACT_REASON, code: 'TREAT', display: 'treatment' },
  2: { system: ACT_REASON, code: 'HRESCH', display: 'healthcare research' },
  3: { system: ACT_REASON, code: 'ETREAT', display: 'Emergency Treatment' },
};

const ZERO = /^0x0{64}$/;

export function auditEventOf(e: AuditEntry, ctx: ViewContext): AuditEvent {
  const listing = ZERO.test(e.request.record);
  // A break-glass opening names the emergency request, not a record.
  const emergency = e.request.purpose === 3;
  const details = [
    { type: 'receipt-leaf', valueString: e.leaf },
    ...(e.anchor
      ? [
          { type: 'access-log-root', valueString: e.anchor.root },
          { type: 'anchor-transaction', valueString: e.anchor.txHash },
        ]
      : []),
  ];
  return {
    resourceType: 'AuditEvent',
    id: e.leaf.slice(2),
    meta: { lastUpdated: iso(e.loggedAt) },
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [
      listing
        ? { system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type', display: 'search type' }
        : { system: 'http://hl7.org/fhir/restful-interaction', code: 'read', display: 'read' },
    ],
    action: 'R',
    recorded: iso(e.loggedAt),
    outcome: e.outcome === 'granted' ? '0' : '4',
    ...(e.outcome === 'denied' ? { outcomeDesc: 'refused: no live consent covered this read' } : {}),
    purposeOfEvent: [{ coding: [PURPOSE_OF_EVENT[e.request.purpose] ?? PURPOSE_OF_EVENT[1]!] }],
    agent: [{ who: account(e.request.requester, ctx), requestor: true }],
    source: {
      observer: { identifier: { system: ADDRESS_SYSTEM, value: e.node }, display: 'MedBloc node' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: [
      ...(listing
        ? []
        : [
            {
              what: emergency
                ? {
                    identifier: {
                      system: 'https://medbloc.org/fhir/sid/emergency-request',
                      value: e.request.record,
                    },
                  }
                : recordReference(e.request.record, ctx),
              type: {
                system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
                code: '2',
                display: 'System Object',
              },
              role: {
                system: 'http://terminology.hl7.org/CodeSystem/object-role',
                code: '4',
                display: 'Domain Resource',
              },
              detail: details,
            },
          ]),
      {
        what: account(e.owner, ctx),
        type: {
          system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
          code: '1',
          display: 'Person',
        },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
        ...(listing ? { detail: details } : {}),
      },
    ],
  };
}

/** `date` search on an ISO instant: eq (default, by prefix), ge, gt, le, lt. */
function matchesDate(value: string, params: string[]): boolean {
  return params.every((p) => {
    const m = /^(eq|ne|ge|gt|le|lt)?(.+)$/.exec(p);
    if (!m) return false;
    const [, op = 'eq', date] = m as unknown as [string, string | undefined, string];
    const t = Date.parse(value);
    const start = Date.parse(date);
    if (Number.isNaN(start)) return false;
    // The end of the given precision: a day, a month, a year or an instant.
    const end =
      date.length <= 4
        ? Date.parse(`${Number(date) + 1}`)
        : date.length <= 7
          ? new Date(new Date(start).setUTCMonth(new Date(start).getUTCMonth() + 1)).getTime()
          : date.length <= 10
            ? start + 86_400_000
            : start + 1;
    switch (op) {
      case 'ge':
        return t >= start;
      case 'gt':
        return t >= end;
      case 'le':
        return t < end;
      case 'lt':
        return t < start;
      case 'ne':
        return t < start || t >= end;
      default:
        return t >= start && t < end;
    }
  });
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());

/**
 * Searches views: `patient`, `date`, `_id`, `_count` (others are refused by the caller). Returns a searchset Bundle.
 */
export function searchViews<T extends Consent | AuditEvent>(
  resources: T[],
  query: Record<string, string | string[]>,
  ctx: ViewContext,
  baseUrl: string,
): Bundle<T> {
  const patients = list(query.patient).flatMap((p) => p.split(','));
  const ids = list(query._id).flatMap((p) => p.split(','));
  const dates = list(query.date);
  const count = Number(list(query._count)[0] ?? 0) || undefined;
  const own = new Set([
    ctx.self.toLowerCase(),
    ...ctx.patientIds().map((id) => `patient/${id}`.toLowerCase()),
  ]);
  const matchesPatient = (r: T) => {
    if (patients.length === 0) return true;
    const owner = (
      r.resourceType === 'Consent'
        ? r.patient?.identifier?.value
        : r.entity?.find((x) => x.role?.code === '1')?.what?.identifier?.value
    )?.toLowerCase();
    return patients.some((p) => {
      const q = p.toLowerCase();
      if (q === owner) return true;
      // A Patient id this gateway holds stands for its own identity.
      return owner === ctx.self.toLowerCase() && (own.has(q) || own.has(`patient/${q}`));
    });
  };
  const matched = resources.filter(
    (r) =>
      matchesPatient(r) &&
      (ids.length === 0 || ids.includes(r.id ?? '')) &&
      (dates.length === 0 ||
        matchesDate((r.resourceType === 'Consent' ? r.dateTime : r.recorded) ?? '', dates)),
  );
  const page = count ? matched.slice(0, count) : matched;
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: matched.length,
    entry: page.map((resource) => ({
      fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' },
    })),
  };
}

/** The search parameters the views answer. */
export const VIEW_SEARCH_PARAMS = new Set(['patient', 'date', '_id', '_count', '_format', '_pretty']);

export function isView(type: string | undefined): type is 'Consent' | 'AuditEvent' {
  return type === 'Consent' || type === 'AuditEvent';
}

export type ViewResource = Consent | AuditEvent;
export type { Resource };
