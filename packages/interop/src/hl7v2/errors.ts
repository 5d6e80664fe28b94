/** Typed errors for HL7 v2 input that cannot be converted. */
import { MedblocError } from '@medbloc/core';

/** Where in the message a problem was found: 1-based line of the input text and the segment name. */
export interface Hl7v2Location {
  readonly line: number;
  readonly segment: string;
}

/**
 * The text is not a readable HL7 v2 message: no MSH header, bad encoding characters, a line that is not a segment,
 * or a required field missing. The message names the line and segment, never a field value, so it is safe to log.
 *
 * @example
 * try { convertHl7v2(text) } catch (e) { if (e instanceof Hl7v2Error) console.warn(e.line, e.segment) }
 */
export class Hl7v2Error extends MedblocError {
  static override readonly code: string = 'HL7V2_INVALID';
  override name = 'Hl7v2Error';
  /** 1-based line number in the input text. */
  readonly line: number;
  /** Segment name (e.g. `PID`), or `?` when the line does not start with one. */
  readonly segment: string;

  constructor(reason: string, where: Hl7v2Location) {
    super(`line ${where.line} (${where.segment}): ${reason}`);
    this.line = where.line;
    this.segment = where.segment;
  }
}

/**
 * A well-formed message of a type this converter does not map to FHIR (e.g. `BAR^P01`, `DFT^P03`).
 *
 * @example
 * if (isMedblocError(e, 'HL7V2_UNSUPPORTED')) queueForManualReview(text)
 */
export class Hl7v2UnsupportedError extends Hl7v2Error {
  static override readonly code = 'HL7V2_UNSUPPORTED';
  override name = 'Hl7v2UnsupportedError';
  /** The message type from MSH-9, e.g. `BAR^P01`. */
  readonly messageType: string;

  constructor(messageType: string, where: Hl7v2Location) {
    super(`unsupported message type ${messageType}`, where);
    this.messageType = messageType;
  }
}
