/**
 * Readable views of common FHIR R4 resources, and a clean key/value view of anything else. Everything is rendered
 * as text nodes: narrative XHTML (`text.div`) and attachment data are never injected as markup.
 */
import type { ReactNode } from 'react';
import {
  arr,
  attachmentText,
  conceptText,
  flagOf,
  formatDate,
  isObj,
  type Json,
  periodText,
  quantityText,
  referenceRange,
  referenceText,
  str,
  valueText,
} from './read.ts';

type Row = [label: string, value: ReactNode | undefined];

function Facts({ rows }: { rows: Row[] }) {
  const shown = rows.filter(([, v]) => v !== undefined && v !== '' && v !== null);
  if (shown.length === 0) return null;
  return (
    <dl className="facts">
      {shown.map(([k, v]) => (
        <div key={k} className="fact">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

const date = (v: unknown) => (str(v) ? formatDate(str(v)) : undefined);
const list = (v: unknown, f: (x: unknown) => string | undefined) =>
  arr(v).map(f).filter(Boolean).join(', ') || undefined;

function ValueWithRange({ o }: { o: Json }) {
  const value = valueText(o);
  const rr = referenceRange(o);
  const flag = flagOf(o);
  if (!value) return null;
  return (
    <span className="obs-value">
      <strong>{value}</strong>
      {flag && (
        <span className={`flag flag-${flag}`} title={`Outside the reference range (${flag})`}>
          {flag === 'high' ? '▲ high' : flag === 'low' ? '▼ low' : 'abnormal'}
        </span>
      )}
      {rr && <span className="range">reference {rr.text}</span>}
    </span>
  );
}

function Observation({ r }: { r: Json }) {
  const comps = arr(r.component).filter(isObj);
  return (
    <>
      <Facts
        rows={[
          ['Test', conceptText(r.code)],
          ['Result', valueText(r) ? <ValueWithRange key="result" o={r} /> : undefined],
          ['Category', list(r.category, conceptText)],
          ['When', date(r.effectiveDateTime) ?? periodText(r.effectivePeriod) ?? date(r.issued)],
          ['Interpretation', list(r.interpretation, conceptText)],
          ['Status', str(r.status)],
          ['Method', conceptText(r.method)],
          ['Body site', conceptText(r.bodySite)],
          ['Note', list(r.note, (n) => (isObj(n) ? str(n.text) : undefined))],
        ]}
      />
      {comps.length > 0 && (
        <table className="components">
          <caption className="sr-only">Components</caption>
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">Value</th>
              <th scope="col">Reference range</th>
            </tr>
          </thead>
          <tbody>
            {comps.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: components have no identity of their own
              <tr key={i}>
                <td>{conceptText(c.code)}</td>
                <td>
                  {valueText(c)}
                  {flagOf(c) && <span className={`flag flag-${flagOf(c)}`}> {flagOf(c)}</span>}
                </td>
                <td>{referenceRange(c)?.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Condition({ r }: { r: Json }) {
  return (
    <Facts
      rows={[
        ['Condition', conceptText(r.code)],
        ['Clinical status', conceptText(r.clinicalStatus)],
        ['Verification', conceptText(r.verificationStatus)],
        ['Severity', conceptText(r.severity)],
        ['Onset', date(r.onsetDateTime) ?? periodText(r.onsetPeriod) ?? str(r.onsetString)],
        ['Resolved', date(r.abatementDateTime) ?? str(r.abatementString)],
        ['Recorded', date(r.recordedDate)],
        ['Body site', list(r.bodySite, conceptText)],
        ['Note', list(r.note, (n) => (isObj(n) ? str(n.text) : undefined))],
      ]}
    />
  );
}

function dosageText(d: unknown): string | undefined {
  if (!isObj(d)) return undefined;
  if (str(d.text)) return str(d.text);
  const dose = arr(d.doseAndRate).find(isObj);
  const q = dose ? quantityText(dose.doseQuantity) : undefined;
  const timing = isObj(d.timing) && isObj(d.timing.repeat) ? d.timing.repeat : undefined;
  const freq = timing
    ? `${str(timing.frequency) ?? 1}× per ${str(timing.period) ?? ''} ${str(timing.periodUnit) ?? ''}`.trim()
    : undefined;
  return [q, freq, conceptText(d.route)].filter(Boolean).join(', ') || undefined;
}

function MedicationRequest({ r }: { r: Json }) {
  return (
    <Facts
      rows={[
        ['Medication', conceptText(r.medicationCodeableConcept) ?? referenceText(r.medicationReference)],
        ['Dosage', list(r.dosageInstruction ?? r.dosage, dosageText)],
        ['Status', str(r.status)],
        ['Intent', str(r.intent)],
        ['Prescribed', date(r.authoredOn) ?? date(r.dateAsserted)],
        ['Prescriber', referenceText(r.requester)],
        ['Reason', list(r.reasonCode, conceptText)],
        [
          'Supply',
          isObj(r.dispenseRequest)
            ? [
                quantityText(r.dispenseRequest.quantity),
                str(r.dispenseRequest.numberOfRepeatsAllowed)
                  ? `${str(r.dispenseRequest.numberOfRepeatsAllowed)} repeats`
                  : undefined,
              ]
                .filter(Boolean)
                .join(', ') || undefined
            : undefined,
        ],
      ]}
    />
  );
}

function AllergyIntolerance({ r }: { r: Json }) {
  const reactions = arr(r.reaction).filter(isObj);
  return (
    <Facts
      rows={[
        ['Substance', conceptText(r.code)],
        ['Criticality', str(r.criticality)],
        ['Type', str(r.type)],
        ['Category', arr(r.category).map(str).filter(Boolean).join(', ') || undefined],
        ['Clinical status', conceptText(r.clinicalStatus)],
        [
          'Reactions',
          reactions
            .map((x) =>
              [list(x.manifestation, conceptText), str(x.severity) ? `(${str(x.severity)})` : undefined]
                .filter(Boolean)
                .join(' '),
            )
            .filter(Boolean)
            .join('; ') || undefined,
        ],
        ['Onset', date(r.onsetDateTime)],
        ['Recorded', date(r.recordedDate)],
      ]}
    />
  );
}

function Immunization({ r }: { r: Json }) {
  return (
    <Facts
      rows={[
        ['Vaccine', conceptText(r.vaccineCode)],
        ['Given', date(r.occurrenceDateTime) ?? str(r.occurrenceString)],
        ['Status', str(r.status)],
        ['Dose', quantityText(r.doseQuantity)],
        ['Site', conceptText(r.site)],
        ['Route', conceptText(r.route)],
        ['Lot', str(r.lotNumber)],
        ['Performer', list(r.performer, (p) => (isObj(p) ? referenceText(p.actor) : undefined))],
      ]}
    />
  );
}

function Encounter({ r }: { r: Json }) {
  const cls = isObj(r.class) ? (str(r.class.display) ?? str(r.class.code)) : undefined;
  return (
    <Facts
      rows={[
        ['Type', list(r.type, conceptText)],
        ['Class', cls],
        ['When', periodText(r.period)],
        ['Reason', list(r.reasonCode, conceptText)],
        ['Where', list(r.location, (l) => (isObj(l) ? referenceText(l.location) : undefined))],
        ['Provider', referenceText(r.serviceProvider)],
        ['Seen by', list(r.participant, (p) => (isObj(p) ? referenceText(p.individual) : undefined))],
        ['Status', str(r.status)],
      ]}
    />
  );
}

function Attachments({ items }: { items: Json[] }) {
  if (items.length === 0) return null;
  return (
    <ul className="attachments">
      {items.map((a, i) => {
        const text = attachmentText(a);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: attachments have no identity of their own
          <li key={i}>
            <span>
              {str(a.title) ?? 'Attachment'} <small>{str(a.contentType)}</small>
              {str(a.size) && <small> · {str(a.size)} bytes</small>}
            </span>
            {text && <pre className="attachment-text">{text}</pre>}
          </li>
        );
      })}
    </ul>
  );
}

function DiagnosticReport({ r }: { r: Json }) {
  return (
    <>
      <Facts
        rows={[
          ['Report', conceptText(r.code)],
          ['Category', list(r.category, conceptText)],
          ['When', date(r.effectiveDateTime) ?? periodText(r.effectivePeriod)],
          ['Issued', date(r.issued)],
          ['Status', str(r.status)],
          ['By', list(r.performer, referenceText)],
          ['Results', list(r.result, referenceText)],
          ['Conclusion', str(r.conclusion)],
          ['Findings', list(r.conclusionCode, conceptText)],
        ]}
      />
      <Attachments items={arr(r.presentedForm).filter(isObj)} />
    </>
  );
}

function ImagingStudy({ r }: { r: Json }) {
  const series = arr(r.series).filter(isObj);
  return (
    <>
      <Facts
        rows={[
          ['Description', str(r.description)],
          ['Modality', list(r.modality, conceptText)],
          ['Started', date(r.started)],
          ['Series', str(r.numberOfSeries) ?? (series.length ? String(series.length) : undefined)],
          ['Images', str(r.numberOfInstances)],
          ['Reason', list(r.reasonCode, conceptText)],
          ['Status', str(r.status)],
        ]}
      />
      {series.length > 0 && (
        <ul className="series">
          {series.slice(0, 20).map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: series have no stable key in the view
            <li key={i}>
              {conceptText(s.modality)} {str(s.description) ?? conceptText(s.bodySite) ?? ''}{' '}
              {str(s.numberOfInstances) && <small>({str(s.numberOfInstances)} images)</small>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function DocumentReference({ r }: { r: Json }) {
  return (
    <>
      <Facts
        rows={[
          ['Type', conceptText(r.type)],
          ['Category', list(r.category, conceptText)],
          ['Description', str(r.description)],
          ['Date', date(r.date)],
          ['Author', list(r.author, referenceText)],
          ['Status', str(r.docStatus) ?? str(r.status)],
        ]}
      />
      <Attachments
        items={arr(r.content)
          .map((c) => (isObj(c) ? c.attachment : undefined))
          .filter(isObj)}
      />
    </>
  );
}

/** Flattens any JSON into label/value rows, skipping narrative and ids the reader does not need. */
function flatten(v: unknown, prefix: string, out: Row[], depth = 0) {
  if (out.length > 200) return;
  if (isObj(v)) {
    const text = depth > 0 ? conceptText(v) : undefined;
    if (text && (v.coding || v.text)) {
      out.push([prefix, text]);
      return;
    }
    const q = depth > 0 ? quantityText(v) : undefined;
    if (q) {
      out.push([prefix, q]);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (depth === 0 && (k === 'resourceType' || k === 'text' || k === 'meta' || k === 'id')) continue;
      flatten(x, prefix ? `${prefix} › ${k}` : k, out, depth + 1);
    }
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => {
      flatten(x, v.length > 1 ? `${prefix} ${i + 1}` : prefix, out, depth + 1);
    });
  } else if (v !== undefined && v !== null) {
    out.push([prefix, String(v)]);
  }
}

export function KeyValues({ r }: { r: Json }) {
  const rows: Row[] = [];
  flatten(r, '', rows);
  return <Facts rows={rows.map(([k, v]) => [k.replace(/([a-z])([A-Z])/g, '$1 $2'), v])} />;
}

const VIEWS: Record<string, (p: { r: Json }) => ReactNode> = {
  Observation,
  Condition,
  MedicationRequest,
  MedicationStatement: MedicationRequest,
  AllergyIntolerance,
  Immunization,
  Encounter,
  DiagnosticReport,
  ImagingStudy,
  DocumentReference,
};

/** The readable view of one FHIR resource. */
export function ResourceView({ resource }: { resource: Json }) {
  const View = VIEWS[str(resource.resourceType) ?? ''];
  return <div className="resource">{View ? <View r={resource} /> : <KeyValues r={resource} />}</div>;
}
