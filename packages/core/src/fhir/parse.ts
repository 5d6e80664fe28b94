/** Parses FHIR JSON text into a resource object, reporting malformed input as an OperationOutcome. */
import type { Resource } from '@medplum/fhirtypes';
import { lineAndColumn, scanJson } from './json-scan.ts';
import { errorIssue, outcomeOf } from './outcome.ts';
import type { FhirResult } from './validate.ts';

/**
 * Parses `text` as a FHIR JSON resource: well-formed JSON without duplicate keys, an object, with a string
 * `resourceType`. Does not validate the content (see {@link validateFhirJson}).
 *
 * @example
 * const parsed = parseFhirJson('{"resourceType":"Patient"');
 * // parsed.ok === false; diagnostics: "Malformed JSON at line 1, column 26 (offset 25): Unexpected end of input..."
 */
export function parseFhirJson(text: string): FhirResult<Resource> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const problem = scanJson(text) ?? { message: (error as Error).message, offset: text.length };
    return malformed(text, problem.message, problem.offset);
  }
  // JSON.parse keeps the last of duplicate keys silently, so accepted text gets a second, strict pass.
  const duplicate = scanJson(text);
  if (duplicate) return malformed(text, duplicate.message, duplicate.offset);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return {
      ok: false,
      outcome: outcomeOf([errorIssue('structure', `A FHIR resource must be a JSON object, not ${kind}`)]),
    };
  }
  const resourceType = (value as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string' || resourceType === '') {
    return {
      ok: false,
      outcome: outcomeOf([
        errorIssue('required', 'A FHIR resource must have a string "resourceType" property', 'resourceType'),
      ]),
    };
  }
  return { ok: true, resource: value as Resource };
}

function malformed(text: string, message: string, offset: number): FhirResult<Resource> {
  const { line, column } = lineAndColumn(text, offset);
  const diagnostics = `Malformed JSON at line ${line}, column ${column} (offset ${offset}): ${message}`;
  return { ok: false, outcome: outcomeOf([errorIssue('structure', diagnostics)]) };
}
