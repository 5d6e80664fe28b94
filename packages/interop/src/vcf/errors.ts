/** Typed error for VCF input that cannot be read. */
import { FhirValidationError } from '@medbloc/core';

/**
 * `MedblocError`, the base of every MedBloc error. @medbloc/core does not export it from its entry point yet, only
 * its subclasses, so it is taken from one of them; replace with `import { MedblocError } from '@medbloc/core'`
 * once that export lands (nothing else changes).
 */
const MedblocError = Object.getPrototypeOf(FhirValidationError) as {
  new (
    shortMessage: string,
    options?: { details?: string; cause?: unknown },
  ): Error & {
    readonly code: string;
    readonly shortMessage: string;
    readonly details: string | undefined;
  };
  readonly code: string;
};

/**
 * The input is not VCF this converter reads: a malformed header or record (wrong column count, bad position), or
 * an unsupported container (BCF). `line` is the 1-based line number (0 when the failure is not tied to a line).
 * Messages never quote sample data.
 *
 * @example
 * try { for await (const r of vcfToFhir(text, opts)) … } catch (e) { if (e instanceof VcfError) console.warn(e.line) }
 */
export class VcfError extends MedblocError {
  static override readonly code = 'VCF_INVALID';
  override name = 'VcfError';
  readonly line: number;

  constructor(reason: string, line: number, options: { cause?: unknown } = {}) {
    super(line > 0 ? `Invalid VCF at line ${line}: ${reason}` : `Invalid VCF: ${reason}`, options);
    this.line = line;
  }
}
