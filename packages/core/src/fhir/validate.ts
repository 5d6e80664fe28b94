/**
 * FHIR R4 validation at the boundary: every resource is validated before it is sealed, and an invalid one is
 * rejected with an OperationOutcome. Medplum's validator checks structure, cardinality, primitive formats and
 * invariants (fast-path.ts proves the ordinary valid resource passes it, several times faster, and leaves every
 * other to it); we add required-binding checks and further R4 rules (walk.ts) and uniform, FHIRPath-located issues.
 */
import { isOperationOutcome, OperationOutcomeError, tryGetDataType, validateResource } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { getTerminology, indexResourceTypesIn, loadValidationDefinitions } from './definitions.ts';
import { FhirValidationError } from './errors.ts';
import { provedValid } from './fast-path.ts';
import { errorIssue, isErrorIssue, outcomeOf } from './outcome.ts';
import { parseFhirJson } from './parse.ts';
import { checkExtraRules } from './walk.ts';

export { loadFhirDefinitions, loadValidationDefinitions } from './definitions.ts';

/** The verdict on a resource: the resource itself when valid, otherwise why not. */
export type FhirResult<T extends Resource = Resource> =
  | { readonly ok: true; readonly resource: T }
  | { readonly ok: false; readonly outcome: OperationOutcome };

/**
 * Validates a parsed FHIR R4 resource against the base specification: structure, cardinality, primitive formats,
 * invariants and required value set bindings. Loads the definitions on first use.
 *
 * @example
 * const result = validateFhirResource({ resourceType: 'Observation', status: 'nonsense', code: { text: 'x' } });
 * if (!result.ok) console.log(result.outcome.issue?.[0]?.expression); // ['Observation.status']
 */
export function validateFhirResource(resource: unknown): FhirResult {
  loadValidationDefinitions();
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return invalid([errorIssue('structure', 'A FHIR resource must be a JSON object')]);
  }
  const { resourceType } = resource as { resourceType?: unknown };
  if (typeof resourceType !== 'string') {
    return invalid([
      errorIssue('required', 'A FHIR resource must have a string "resourceType" property', 'resourceType'),
    ]);
  }
  indexResourceTypesIn(resource);
  if (!isConcreteResourceType(resourceType)) {
    return invalid([
      errorIssue('structure', `Unknown FHIR R4 resourceType "${resourceType}"`, 'resourceType'),
    ]);
  }
  // A resource the fast path proves valid has no Medplum issues; any other gets Medplum's verdict and issues.
  const issues = provedValid(resource as Resource) ? [] : medplumIssues(resource as Resource);
  checkExtraRules(resource as Record<string, unknown>, getTerminology(), issues);
  const errors = issues.filter(isErrorIssue);
  return errors.length === 0 ? { ok: true, resource: resource as Resource } : invalid(errors);
}

/**
 * Parses and validates FHIR JSON text in one step.
 *
 * @example
 * const result = validateFhirJson(requestBody);
 */
export function validateFhirJson(text: string): FhirResult {
  const parsed = parseFhirJson(text);
  return parsed.ok ? validateFhirResource(parsed.resource) : parsed;
}

/**
 * Like {@link validateFhirResource}, but throws a {@link FhirValidationError} (code `FHIR_INVALID`) carrying the
 * OperationOutcome, and narrows the input's type when it returns.
 *
 * @example
 * assertFhirResource(resource); // then seal it
 */
export function assertFhirResource(resource: unknown): asserts resource is Resource {
  const result = validateFhirResource(resource);
  if (!result.ok) throw new FhirValidationError(result.outcome);
}

function isConcreteResourceType(resourceType: string): boolean {
  const schema = tryGetDataType(resourceType);
  return schema?.kind === 'resource' && resourceType !== 'Resource' && resourceType !== 'DomainResource';
}

/** Medplum's issues, normalised: `diagnostics` always set, a missing mandatory element coded `required`. */
function medplumIssues(resource: Resource): OperationOutcomeIssue[] {
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateResource(resource);
  } catch (error) {
    if (
      error instanceof OperationOutcomeError ||
      isOperationOutcome((error as { outcome?: unknown }).outcome)
    ) {
      issues = (error as OperationOutcomeError).outcome.issue ?? [];
    } else {
      const message = error instanceof Error ? error.message : String(error);
      issues = [errorIssue('processing', `Validation could not complete: ${message}`)];
    }
  }
  return issues.map(normaliseIssue);
}

function normaliseIssue(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  const diagnostics = issue.diagnostics ?? issue.details?.text ?? issue.code;
  const code = diagnostics.startsWith('Missing required property') ? 'required' : issue.code;
  return { ...issue, code, diagnostics };
}

function invalid(issues: OperationOutcomeIssue[]): FhirResult {
  return { ok: false, outcome: outcomeOf(issues) };
}
