/**
 * Required-binding checks, which Medplum's validator does not do: a `code`, `Coding` or `CodeableConcept` bound
 * with strength `required` to a value set we can expand must use a code from it.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { errorIssue } from './outcome.ts';
import type { ValueSetExpansion } from './terminology.ts';

type JsonObject = Record<string, unknown>;

/** Appends a `code-invalid` issue when `value` (of FHIR type `type`) is outside `expansion`. */
export function checkBinding(
  value: unknown,
  type: string,
  expansion: ValueSetExpansion,
  path: string,
  issues: OperationOutcomeIssue[],
): void {
  switch (type) {
    case 'code':
    case 'string':
    case 'uri':
      if (typeof value === 'string' && !expansion.allCodes.has(value)) {
        issues.push(
          errorIssue(
            'code-invalid',
            `Value "${value}" is not in the required value set ${expansion.url}`,
            path,
          ),
        );
      }
      return;
    case 'Coding':
      if (isObject(value) && !codingIsMember(value, expansion)) {
        const diagnostics = `Coding ${describeCoding(value)} is not in the required value set ${expansion.url}`;
        issues.push(errorIssue('code-invalid', diagnostics, path));
      }
      return;
    case 'CodeableConcept': {
      const codings = isObject(value) && Array.isArray(value.coding) ? value.coding.filter(isObject) : [];
      const coded = codings.filter((c) => typeof c.code === 'string');
      // A text-only concept carries no code to judge.
      if (coded.length > 0 && !coded.some((c) => codingIsMember(c, expansion))) {
        const described = coded.map(describeCoding).join(', ');
        const diagnostics = `None of the codings ${described} is in the required value set ${expansion.url}`;
        issues.push(errorIssue('code-invalid', diagnostics, path));
      }
      return;
    }
    default:
      return;
  }
}

function codingIsMember(coding: JsonObject, expansion: ValueSetExpansion): boolean {
  const { system, code } = coding;
  if (typeof code !== 'string') return true;
  if (typeof system !== 'string') return expansion.allCodes.has(code);
  return expansion.bySystem.get(system)?.has(code) ?? false;
}

function describeCoding(coding: JsonObject): string {
  return typeof coding.system === 'string'
    ? `${coding.system}|${String(coding.code)}`
    : `"${String(coding.code)}"`;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
