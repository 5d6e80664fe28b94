/**
 * FHIR R4 rules Medplum's validator leaves out and that need no terminology server or reference resolution:
 * resource id syntax, no empty arrays, absolute `Bundle.entry.fullUrl` and `Coding.system`, `Attachment.size`
 * matching its inline data, and narrative XHTML limited to the basic formatting the spec allows (txt-1) — the
 * last matters to us because narratives are rendered in the patient and provider portals.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { errorIssue } from './outcome.ts';

type JsonObject = Record<string, unknown>;

const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Checks that apply to every resource, wherever it sits (top level, contained, bundled). */
export function checkResourceRules(
  resource: JsonObject,
  path: string,
  issues: OperationOutcomeIssue[],
): void {
  const { id } = resource;
  if (typeof id === 'string' && !RESOURCE_ID.test(id)) {
    const why =
      id.length > 64
        ? `too long (${id.length} characters, at most 64)`
        : 'only A-Z, a-z, 0-9, "-" and "." are allowed';
    issues.push(errorIssue('value', `Invalid resource id "${id}": ${why}`, `${path}.id`));
  }
}

/** An array property must have at least one element, or be absent. */
export function checkArray(value: unknown[], path: string, issues: OperationOutcomeIssue[]): void {
  if (value.length === 0) {
    issues.push(
      errorIssue('structure', 'Array cannot be empty: omit the property when it has no values', path),
    );
  }
}

/** Checks on a complex datatype or backbone element value of FHIR type `type`. */
export function checkTypeRules(
  type: string,
  value: JsonObject,
  path: string,
  issues: OperationOutcomeIssue[],
): void {
  switch (type) {
    case 'BundleEntry':
      checkAbsolute(value.fullUrl, 'Bundle.entry.fullUrl', `${path}.fullUrl`, issues);
      return;
    case 'Coding':
      checkAbsolute(value.system, 'Coding.system', `${path}.system`, issues);
      return;
    case 'Attachment':
      checkAttachmentSize(value, path, issues);
      return;
    case 'Narrative':
      if (typeof value.div === 'string') checkNarrative(value.div, `${path}.div`, issues);
      return;
    default:
      return;
  }
}

function checkAbsolute(value: unknown, what: string, path: string, issues: OperationOutcomeIssue[]): void {
  if (typeof value === 'string' && !ABSOLUTE_URI.test(value)) {
    issues.push(errorIssue('value', `${what} must be an absolute URI, not "${value}"`, path));
  }
}

function checkAttachmentSize(attachment: JsonObject, path: string, issues: OperationOutcomeIssue[]): void {
  const { data, size } = attachment;
  if (typeof data !== 'string' || typeof size !== 'number') return;
  const actual = base64ByteLength(data);
  if (actual !== size) {
    issues.push(
      errorIssue('value', `Attachment.size is ${size} but its data is ${actual} bytes`, `${path}.size`),
    );
  }
}

function base64ByteLength(data: string): number {
  const compact = data.replace(/\s+/g, '');
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return Math.floor((compact.length * 3) / 4) - padding;
}

/** Elements the FHIR narrative may contain (R4 §2.4 Narrative, "basic html formatting"). */
const NARRATIVE_ELEMENTS = new Set(
  (
    'a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i ' +
    'img li ol p pre q samp small span strong sub sup table tbody td tfoot th thead tr tt ul var'
  ).split(' '),
);
const TAG = /<\/?\s*([A-Za-z][\w:.-]*)([^>]*)>/g;
const EVENT_ATTRIBUTE = /(?:^|\s)on[a-z]+\s*=/i;
const SCRIPT_URL = /(?:href|src)\s*=\s*["']?\s*(?:javascript|vbscript|data:text\/html)/i;

function checkNarrative(div: string, path: string, issues: OperationOutcomeIssue[]): void {
  for (const match of div.matchAll(TAG)) {
    const name = (match[1] ?? '').toLowerCase();
    const attributes = match[2] ?? '';
    if (!NARRATIVE_ELEMENTS.has(name)) {
      issues.push(
        errorIssue('value', `Narrative contains the element <${name}>, which is not allowed (txt-1)`, path),
      );
      return;
    }
    if (EVENT_ATTRIBUTE.test(attributes) || SCRIPT_URL.test(attributes)) {
      issues.push(
        errorIssue(
          'value',
          `Narrative element <${name}> has a scripting attribute, which is not allowed (txt-1)`,
          path,
        ),
      );
      return;
    }
  }
}
