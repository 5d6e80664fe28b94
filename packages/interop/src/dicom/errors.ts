/** Typed error for DICOM input that cannot be read. */
import { MedblocError } from '@medbloc/core';

/**
 * The bytes are not a readable DICOM data set: truncated, a length that runs past the end, an unknown transfer
 * syntax, or a deflated stream that does not inflate. The message names the tag and byte offset (in the
 * inflated stream for deflated files), never a value, so it is safe to log.
 *
 * @example
 * try { parseDicom(bytes) } catch (e) { if (e instanceof DicomError) console.warn(e.tag, e.offset) }
 */
export class DicomError extends MedblocError {
  static override readonly code = 'DICOM_INVALID';
  override name = 'DicomError';
  /** The tag being read, as `(gggg,eeee)`, when known. */
  readonly tag: string | undefined;
  /** Byte offset of the element header (or of the failure) in the data being parsed. */
  readonly offset: number;

  constructor(reason: string, where: { tag?: string; offset: number; cause?: unknown }) {
    const at =
      where.tag === undefined
        ? `at byte offset ${where.offset}`
        : `${where.tag} at byte offset ${where.offset}`;
    super(`Invalid DICOM: ${reason} (${at})`, where.cause === undefined ? {} : { cause: where.cause });
    this.tag = where.tag;
    this.offset = where.offset;
  }
}
