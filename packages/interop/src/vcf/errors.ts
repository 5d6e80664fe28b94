/** Typed error for VCF input that cannot be read. */
import { MedblocError } from '@medbloc/core';

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
