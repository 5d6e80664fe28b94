/**
 * FHIR R4 validation in the page, before anything is sealed: core's validator (Medplum's structure, cardinality,
 * format and invariant checks plus required bindings), loaded on first use as its own chunk with core's compact
 * definitions. An invalid resource throws FhirInvalidError and nothing is sent. Each run leaves a User Timing
 * measure, `medbloc:fhir-validate`.
 */

export interface FhirIssue {
  where: string;
  message: string;
}

/** One or more resources are not valid FHIR R4; `issues` says where and why. */
export class FhirInvalidError extends Error {
  readonly code = 'FHIR_INVALID';
  readonly issues: FhirIssue[];
  constructor(issues: FhirIssue[]) {
    const first = issues
      .slice(0, 3)
      .map((i) => `${i.where}: ${i.message}`)
      .join('; ');
    super(issues.length > 3 ? `${first}; and ${issues.length - 3} more` : first);
    this.name = 'FhirInvalidError';
    this.issues = issues;
  }
}

let validator: Promise<typeof import('@medbloc/core/fhir')> | undefined;

/**
 * Loads the validator chunk (once) and indexes its definitions (data types now, each resource type when first
 * validated); call early to hide the load behind the user's typing.
 */
export function preloadValidator() {
  validator ??= Promise.all([import('@medbloc/core/fhir'), import('virtual:medbloc-fhir-definitions')]).then(
    ([core, definitions]) => {
      core.loadCompactDefinitions(definitions.default);
      return core;
    },
  );
  return validator;
}

/** Throws FhirInvalidError unless every resource is valid FHIR R4. */
export async function assertValidFhir(resources: unknown[]): Promise<void> {
  const { validateFhirResource } = await preloadValidator();
  // A User Timing entry (visible in the browser's performance panel, read by the benchmark).
  const start = performance.now();
  const issues: FhirIssue[] = [];
  resources.forEach((r, n) => {
    const result = validateFhirResource(r);
    if (result.ok) return;
    const label = resources.length > 1 ? `entry ${n + 1} ` : '';
    for (const issue of result.outcome.issue ?? [])
      issues.push({
        where: `${label}${issue.expression?.[0] ?? (r as { resourceType?: string })?.resourceType ?? 'resource'}`,
        // Medplum puts the readable text of an invariant in details and its FHIRPath in diagnostics.
        message: issue.details?.text ?? issue.diagnostics ?? issue.code,
      });
  });
  performance.measure('medbloc:fhir-validate', { start, detail: { resources: resources.length } });
  if (issues.length) throw new FhirInvalidError(issues);
}
