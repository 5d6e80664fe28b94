/** The typed error thrown when a FHIR resource fails validation; it carries the OperationOutcome to return. */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { MedblocError } from '../errors.ts';

/**
 * A resource failed FHIR validation. `outcome` holds every issue for the submitter; `details` lists only where
 * and what kind (e.g. `Patient.gender: code-invalid`), never the submitted values, so it is safe to log.
 *
 * @example
 * try { assertFhirResource(input) } catch (e) { if (e instanceof FhirValidationError) return e.outcome }
 */
export class FhirValidationError extends MedblocError {
  static override readonly code = 'FHIR_INVALID';
  override name = 'FhirValidationError';
  readonly outcome: OperationOutcome;

  constructor(outcome: OperationOutcome, options: { cause?: unknown } = {}) {
    const details = (outcome.issue ?? [])
      .map((issue) => `${issue.expression?.[0] ?? '(resource)'}: ${issue.code}`)
      .join('; ');
    super('Invalid FHIR resource', { ...options, details });
    this.outcome = outcome;
  }
}
