/** Typed errors for C-CDA documents that cannot be read, and FHIR data that cannot be written as one. */
import { MedblocError } from '@medbloc/core';

/**
 * A C-CDA document that is not well-formed XML (message starts with `line:column`), is not a ClinicalDocument, or
 * lacks what a document needs (its patient); or FHIR resources a document cannot be built from.
 *
 * @example
 * try { ccdaToFhir(xml) } catch (e) { if (e instanceof CcdaError) console.warn(e.message) }
 */
export class CcdaError extends MedblocError {
  static override readonly code = 'CCDA_INVALID';
  override name = 'CcdaError';
}
