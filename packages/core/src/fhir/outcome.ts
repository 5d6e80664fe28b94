/** Building OperationOutcomes: the shape every FHIR failure takes at our boundary. */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** One `error` issue; `expression` is a FHIRPath such as `Observation.status`. */
export function errorIssue(
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression?: string,
): OperationOutcomeIssue {
  const issue: OperationOutcomeIssue = {
    severity: 'error',
    code,
    diagnostics,
    details: { text: diagnostics },
  };
  if (expression !== undefined) issue.expression = [expression];
  return issue;
}

/** Wraps issues in an OperationOutcome. */
export function outcomeOf(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** True for issues that make a resource invalid (`error` or `fatal`). */
export function isErrorIssue(issue: OperationOutcomeIssue): boolean {
  return issue.severity === 'error' || issue.severity === 'fatal';
}
