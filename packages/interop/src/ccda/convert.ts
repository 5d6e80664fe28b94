/**
 * C-CDA R2.1 ↔ FHIR R4 through Medplum's C-CDA library (@medplum/ccda). Reading: the text is checked first with a
 * strict XML parser (Medplum's reader is lenient and would turn a truncated document into a partial one), then its
 * root must be an HL7 v3 ClinicalDocument with a patient. Writing: a patient's resources become a FHIR document
 * (a Composition with the usual C-CDA sections: allergies, medications, problems, immunisations, results, vital
 * signs, procedures, encounters) that Medplum turns into a Continuity of Care Document.
 */
import { convertCcdaToFhir, convertCcdaToXml, convertFhirToCcda, convertXmlToCcda } from '@medplum/ccda';
import type {
  Bundle,
  Composition,
  CompositionSection,
  Condition,
  Observation,
  Patient,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { SaxesParser } from 'saxes';
import { CcdaError } from './errors.ts';

const HL7_V3 = 'urn:hl7-org:v3';
const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_VER_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const LOINC = 'http://loinc.org';

/** True when the text's root element is a ClinicalDocument (a CDA document, C-CDA included). */
export function isCcda(text: string): boolean {
  return /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<\?[^>]*\?>\s*|<!--[\s\S]*?-->\s*)*<(?:\w+:)?ClinicalDocument[\s>]/.test(
    text.replace(/^\uFEFF/, ''),
  );
}

/** The root element's local name and namespace; throws CcdaError naming line and column for malformed XML. */
function checkWellFormed(xml: string): { name: string; ns: string } {
  const parser = new SaxesParser({ xmlns: true, position: true });
  let root: { name: string; ns: string } | undefined;
  let failure: CcdaError | undefined;
  parser.on('error', (err) => {
    failure ??= new CcdaError(
      `${parser.line}:${parser.column}: malformed XML: ${err.message.replace(/^.*?:\d+:\d+: /, '')}`,
    );
  });
  parser.on('opentag', (tag) => {
    root ??= { name: tag.local ?? tag.name, ns: tag.uri ?? '' };
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    failure ??= new CcdaError(`malformed XML: ${(err as Error).message}`, { cause: err });
  }
  if (failure) throw failure;
  if (!root) throw new CcdaError('not a C-CDA document: no root element');
  return root;
}

/**
 * Converts a C-CDA document into a FHIR document Bundle (Composition, Patient, then the entries).
 *
 * @throws CcdaError for malformed XML, a root other than an HL7 v3 ClinicalDocument, or no patient.
 * @example
 * const bundle = ccdaToFhir(await readFile('ccd.xml', 'utf8'));
 */
export function ccdaToFhir(xml: string): Bundle {
  const text = xml.replace(/^\uFEFF/, '');
  const root = checkWellFormed(text);
  if (root.name !== 'ClinicalDocument' || root.ns !== HL7_V3)
    throw new CcdaError(
      `not a C-CDA document: the root element is ${root.name}${root.ns ? ` in ${root.ns}` : ''}, not ClinicalDocument in ${HL7_V3}`,
    );
  const ccda = convertXmlToCcda(text);
  const role = ccda?.recordTarget?.[0]?.patientRole;
  if (!role?.patient)
    throw new CcdaError('not a usable C-CDA document: recordTarget/patientRole/patient is missing');
  let bundle: Bundle;
  try {
    bundle = convertCcdaToFhir(ccda);
  } catch (err) {
    throw new CcdaError(`the C-CDA document could not be converted: ${(err as Error).message}`, {
      cause: err,
    });
  }
  for (const e of bundle.entry ?? [])
    if (e.resource?.resourceType === 'Condition') settleProblemStatus(e.resource);
  uniqueIds((bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])));
  return bundle;
}

/**
 * Gives every resource its own id. Medplum's reader names a result organizer and its member observations after the
 * same C-CDA id (a document may also reuse one), which would make them one resource when stored and makes the
 * organizer its own member. The first of a kind keeps the id — the organizer, when there is one — the others get
 * `<id>-2`, `<id>-3`..., and the organizer's `hasMember` points at them.
 */
function uniqueIds(resources: Resource[]): void {
  const groups = new Map<string, Resource[]>();
  for (const r of resources) {
    if (!r.id) continue;
    const key = `${r.resourceType}/${r.id}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, group] of groups) {
    if (group.length < 2) continue;
    const owner =
      group.find((r) => (r as Observation).hasMember?.some((m) => m.reference === key)) ?? group[0];
    const renamed: string[] = [];
    let n = 1;
    for (const r of group) {
      if (r === owner) continue;
      r.id = `${r.id}-${++n}`;
      renamed.push(`${r.resourceType}/${r.id}`);
    }
    const members = (owner as Observation).hasMember;
    if (members) {
      let next = 0;
      for (const m of members)
        if (m.reference === key && next < renamed.length) m.reference = renamed[next++] as string;
    }
  }
}

const STILL_ACTIVE = new Set(['active', 'recurrence', 'relapse']);

/**
 * A problem whose observation has an end (effectiveTime/high, the resolution date in C-CDA) is resolved, whatever
 * its concern act's status says. Medplum's reader takes the status from the concern act — which its own writer, and
 * many EHRs, leave "active" — and so yields an active Condition with an abatement, which FHIR forbids (con-4).
 */
function settleProblemStatus(condition: Condition): void {
  const ended =
    condition.abatementDateTime ??
    condition.abatementPeriod ??
    condition.abatementAge ??
    condition.abatementString;
  // Medplum names the verification system .../condition-verification; R4's is .../condition-ver-status.
  for (const c of condition.verificationStatus?.coding ?? [])
    if (c.system === 'http://terminology.hl7.org/CodeSystem/condition-verification')
      c.system = CONDITION_VER_STATUS;
  const status = condition.clinicalStatus?.coding?.find((c) => c.system === CONDITION_CLINICAL);
  if (ended && status?.code && STILL_ACTIVE.has(status.code)) {
    status.code = 'resolved';
    status.display = 'Resolved';
  }
}

/** The resources of a FHIR document Bundle from {@link ccdaToFhir}, minus its Composition (an index of the rest). */
export function ccdaResources(bundle: Bundle): Resource[] {
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Resource => !!r && r.resourceType !== 'Composition');
}

export interface FhirToCcdaOptions {
  /** Document title (default "Continuity of Care Document"). */
  title?: string;
  /** Document time, FHIR dateTime (default now). */
  date?: string;
}

interface SectionSpec {
  code: string;
  title: string;
  takes: (r: Resource) => boolean;
}

const category = (r: Resource, code: string) =>
  (r as Observation).category?.some((c) => c.coding?.some((x) => x.code === code)) ?? false;

const SECTIONS: SectionSpec[] = [
  {
    code: '48765-2',
    title: 'Allergies and Intolerances',
    takes: (r) => r.resourceType === 'AllergyIntolerance',
  },
  { code: '10160-0', title: 'Medications', takes: (r) => r.resourceType === 'MedicationRequest' },
  { code: '11450-4', title: 'Problems', takes: (r) => r.resourceType === 'Condition' },
  { code: '11369-6', title: 'Immunizations', takes: (r) => r.resourceType === 'Immunization' },
  {
    code: '30954-2',
    title: 'Results',
    takes: (r) => r.resourceType === 'Observation' && category(r, 'laboratory'),
  },
  {
    code: '8716-3',
    title: 'Vital Signs',
    takes: (r) => r.resourceType === 'Observation' && category(r, 'vital-signs'),
  },
  { code: '47519-4', title: 'Procedures', takes: (r) => r.resourceType === 'Procedure' },
  { code: '46240-8', title: 'Encounters', takes: (r) => r.resourceType === 'Encounter' },
];

/**
 * Builds a C-CDA Continuity of Care Document (XML) from one patient's FHIR resources: a Bundle (references may be
 * `urn:uuid:` fullUrls, as in a transaction) or a list of resources with ids (references `Type/id`).
 *
 * @throws CcdaError unless there is exactly one Patient.
 * @example
 * const xml = fhirToCcda(syntheaBundle, { title: 'Summary for Dr Osler' });
 */
export function fhirToCcda(input: Bundle | Resource[], opts: FhirToCcdaOptions = {}): string {
  const resources = literalReferences(input);
  const patients = resources.filter((r): r is Patient & { id: string } => r.resourceType === 'Patient');
  if (patients.length !== 1)
    throw new CcdaError(`a C-CDA document is about one patient; found ${patients.length} Patient resources`);
  const patient = patients[0] as Patient & { id: string };
  const sections: CompositionSection[] = SECTIONS.map((s) => {
    const entry: Reference[] = resources
      .filter((r) => s.takes(r))
      .map((r) => ({ reference: `${r.resourceType}/${r.id}` }));
    return {
      title: s.title,
      code: { coding: [{ system: LOINC, code: s.code, display: s.title }] },
      ...(entry.length ? { entry } : {}),
    };
  });
  const composition: Composition = {
    resourceType: 'Composition',
    id: `ccd-${patient.id}`,
    status: 'final',
    type: { coding: [{ system: LOINC, code: '34133-9', display: 'Summary of episode note' }] },
    subject: { reference: `Patient/${patient.id}` },
    date: opts.date ?? new Date().toISOString(),
    title: opts.title ?? 'Continuity of Care Document',
    author: [{ reference: `Patient/${patient.id}` }],
    section: sections,
  };
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'document',
    entry: [composition, ...resources].map((resource) => ({ resource })),
  };
  try {
    return convertCcdaToXml(convertFhirToCcda(bundle));
  } catch (err) {
    throw new CcdaError(`the FHIR resources could not be written as C-CDA: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Copies of the resources, each with an id, every `urn:uuid:` reference rewritten to `Type/id`. */
function literalReferences(input: Bundle | Resource[]): (Resource & { id: string })[] {
  const entries = Array.isArray(input)
    ? input.map((resource) => ({ resource, fullUrl: undefined as string | undefined }))
    : (input.entry ?? []).flatMap((e) => (e.resource ? [{ resource: e.resource, fullUrl: e.fullUrl }] : []));
  const literal = new Map<string, string>();
  const out = entries.map(({ resource, fullUrl }, i) => {
    const copy = structuredClone(resource) as Resource & { id: string };
    copy.id ??= fullUrl?.startsWith('urn:uuid:') ? fullUrl.slice(9) : `r${i}`;
    if (fullUrl) literal.set(fullUrl, `${copy.resourceType}/${copy.id}`);
    // Resources stored from a transaction without rewriting keep `urn:uuid:<their id>` references.
    literal.set(`urn:uuid:${copy.id}`, `${copy.resourceType}/${copy.id}`);
    return copy;
  });
  const rewrite = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) rewrite(x);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.reference === 'string') o.reference = literal.get(o.reference) ?? o.reference;
      for (const x of Object.values(o)) if (typeof x === 'object') rewrite(x);
    }
  };
  rewrite(out);
  return out;
}
