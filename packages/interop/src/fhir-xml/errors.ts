/** Typed errors for FHIR XML that cannot be read or FHIR JSON that cannot be written as XML. */
import { MedblocError } from '@medbloc/core';

/**
 * Malformed XML (message starts with `line:column`), or an element, attribute or value that is not FHIR R4 at that
 * place (message names the FHIR path). Values are never quoted, so it is safe to log.
 *
 * @example
 * try { fhirXmlToJson(xml) } catch (e) { if (e instanceof FhirXmlError) console.warn(e.line, e.column) }
 */
export class FhirXmlError extends MedblocError {
  static override readonly code = 'FHIR_XML_INVALID';
  override name = 'FhirXmlError';
  /** 1-based line in the XML text (undefined when writing XML from JSON). */
  readonly line: number | undefined;
  /** 1-based column in the XML text (undefined when writing XML from JSON). */
  readonly column: number | undefined;

  constructor(reason: string, where: { line?: number; column?: number; cause?: unknown } = {}) {
    const at = where.line === undefined ? '' : `${where.line}:${where.column ?? 0}: `;
    super(`${at}${reason}`, where.cause === undefined ? {} : { cause: where.cause });
    this.line = where.line;
    this.column = where.column;
  }
}
