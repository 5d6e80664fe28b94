/**
 * DICOM Part 10 reader (PS3.10 file format, PS3.5 encoding): with or without the 128-byte preamble and File Meta
 * Information; implicit and explicit VR little endian, explicit VR big endian, deflated; nested sequences of defined
 * or undefined length; encapsulated pixel data kept as opaque fragments. Values stay raw bytes (decoded on demand by
 * `values.ts`), so a data set can be written back byte-for-byte except where it is deliberately changed.
 */
import { inflateRawSync } from 'node:zlib';
import { dictionaryVr, formatTag } from './dictionary.ts';
import { DicomError } from './errors.ts';
import type { DicomDataset, DicomElement, DicomItem } from './model.ts';
import { ALL_VRS, LONG_VRS, TransferSyntax } from './model.ts';

const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 'FFFEE000';
const ITEM_DELIMITER = 'FFFEE00D';
const SEQUENCE_DELIMITER = 'FFFEE0DD';
const PIXEL_DATA = '7FE00010';

interface Encoding {
  readonly littleEndian: boolean;
  readonly explicitVR: boolean;
}
const EXPLICIT_LE: Encoding = { littleEndian: true, explicitVR: true };
const IMPLICIT_LE: Encoding = { littleEndian: true, explicitVR: false };

/**
 * Parse a DICOM file (or a bare data set without preamble and meta header).
 *
 * @throws {DicomError} when the data is truncated or malformed; the message names the tag and byte offset.
 * @example
 * const ds = parseDicom(await readFile('CT_small.dcm'));
 * dicomString(ds, 'PatientID'); // '1CT1'
 */
export function parseDicom(bytes: Uint8Array): DicomDataset {
  let pos = 0;
  let hasPreamble = false;
  if (bytes.length >= 132 && isDicm(bytes, 128)) {
    pos = 132;
    hasPreamble = true;
  } else if (isDicm(bytes, 0)) {
    pos = 4;
  }
  const metaReader = new Reader(bytes, EXPLICIT_LE);
  const meta = new Map<string, DicomElement>();
  while (pos + 4 <= bytes.length && metaReader.u16(pos) === 0x0002) {
    const read = metaReader.readElement(pos, bytes.length, []);
    meta.set(read.element.tag, read.element);
    pos = read.next;
  }
  if (meta.size === 0 && !hasPreamble) pos = firstElement(bytes, pos);
  const declared = meta.get('00020010')?.value;
  const transferSyntaxUID = declared
    ? new TextDecoder('latin1').decode(declared).replace(/[\0 ]+$/, '')
    : guessTransferSyntax(bytes, pos);
  const deflated = transferSyntaxUID === TransferSyntax.DeflatedExplicitVRLittleEndian;
  const encoding: Encoding =
    transferSyntaxUID === TransferSyntax.ImplicitVRLittleEndian
      ? IMPLICIT_LE
      : transferSyntaxUID === TransferSyntax.ExplicitVRBigEndian
        ? { littleEndian: false, explicitVR: true }
        : EXPLICIT_LE;
  let body = bytes.subarray(pos);
  let bodyOffset = pos;
  if (deflated) {
    try {
      body = inflateRawSync(body);
    } catch (cause) {
      throw new DicomError('deflated data set does not inflate', { offset: pos, cause });
    }
    bodyOffset = 0;
  }
  const reader = new Reader(body, encoding, bodyOffset);
  const { item } = reader.readItem(0, body.length, []);
  return {
    ...item,
    meta,
    transferSyntaxUID,
    explicitVR: encoding.explicitVR,
    deflated,
    hasPreamble,
  };
}

function isDicm(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x44 && bytes[at + 1] === 0x49 && bytes[at + 2] === 0x43 && bytes[at + 3] === 0x4d;
}

/**
 * Where a bare data set (no preamble, no meta header) starts. Some such files carry stray bytes before the first
 * element (e.g. the tail of a stripped meta header); skip at most 16 bytes to a group 0008 element if the start
 * is not plausible.
 */
function firstElement(bytes: Uint8Array, pos: number): number {
  const plausible = (at: number) => bytes[at] === 0x08 && bytes[at + 1] === 0x00;
  if (plausible(pos) || (bytes[pos] === 0x00 && bytes[pos + 1] === 0x08)) return pos;
  for (let at = pos + 1; at < Math.min(bytes.length - 8, pos + 16); at++) if (plausible(at)) return at;
  return pos;
}

/** For a data set without meta header: explicit if a VR follows the first tag; big endian if the group reads so. */
function guessTransferSyntax(bytes: Uint8Array, pos: number): string {
  if (pos + 6 > bytes.length) return TransferSyntax.ImplicitVRLittleEndian;
  const vr = String.fromCharCode(bytes[pos + 4] as number, bytes[pos + 5] as number);
  const groupLE = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
  const groupBE = ((bytes[pos] as number) << 8) | (bytes[pos + 1] as number);
  if (!ALL_VRS.has(vr)) return TransferSyntax.ImplicitVRLittleEndian;
  return groupBE < groupLE ? TransferSyntax.ExplicitVRBigEndian : TransferSyntax.ExplicitVRLittleEndian;
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #encoding: Encoding;
  /** Added to positions in error messages and element offsets (where the body starts in the file). */
  readonly #base: number;

  constructor(bytes: Uint8Array, encoding: Encoding, base = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#encoding = encoding;
    this.#base = base;
  }

  u16(pos: number): number {
    return this.#view.getUint16(pos, this.#encoding.littleEndian);
  }

  u32(pos: number): number {
    return this.#view.getUint32(pos, this.#encoding.littleEndian);
  }

  /** Read elements from `pos` up to `end`, or up to an item delimiter when `end` is undefined. */
  readItem(
    pos: number,
    end: number | undefined,
    inherited: readonly string[],
  ): { item: DicomItem; next: number } {
    const elements = new Map<string, DicomElement>();
    const item = { elements, characterSets: inherited, littleEndian: this.#encoding.littleEndian };
    const limit = end ?? this.#bytes.length;
    while (pos < limit) {
      if (end === undefined && this.#peekTag(pos) === ITEM_DELIMITER) return { item, next: pos + 8 };
      const read = this.readElement(pos, limit, item.characterSets);
      if (read.element.tag === '00080005' && read.element.value) {
        item.characterSets = new TextDecoder('latin1').decode(read.element.value).split('\\');
      }
      elements.set(read.element.tag, read.element);
      pos = read.next;
    }
    if (end === undefined) {
      throw new DicomError('item of undefined length has no item delimiter', { offset: this.#base + pos });
    }
    return { item, next: pos };
  }

  #peekTag(pos: number): string | undefined {
    if (pos + 4 > this.#bytes.length) return undefined;
    return tagString(this.u16(pos), this.u16(pos + 2));
  }

  readElement(
    pos: number,
    end: number,
    characterSets: readonly string[],
  ): { element: DicomElement; next: number } {
    const offset = this.#base + pos;
    if (pos + 4 > end) throw new DicomError('data ends inside an element tag', { offset });
    const group = this.u16(pos);
    const tag = tagString(group, this.u16(pos + 2));
    const printable = formatTag(tag);
    if (pos + 8 > end) throw new DicomError('data ends inside an element header', { tag: printable, offset });
    let vr: string;
    let length: number;
    let header = 8;
    if (group === 0xfffe) {
      throw new DicomError('unexpected item tag outside a sequence', { tag: printable, offset });
    }
    const explicitVr = String.fromCharCode(this.#bytes[pos + 4] as number, this.#bytes[pos + 5] as number);
    if (this.#encoding.explicitVR && ALL_VRS.has(explicitVr)) {
      vr = explicitVr;
      if (LONG_VRS.has(vr)) {
        if (pos + 12 > end)
          throw new DicomError('data ends inside an element header', { tag: printable, offset });
        length = this.u32(pos + 8);
        header = 12;
      } else {
        length = this.u16(pos + 6);
      }
    } else {
      // Implicit VR (or an explicit stream with an unreadable VR, which some writers produce): ask the dictionary.
      vr = dictionaryVr(tag);
      length = this.u32(pos + 4);
    }
    const start = pos + header;
    if (length === UNDEFINED_LENGTH) {
      if (vr === 'SQ' || vr === 'UN') {
        // PS3.5 §6.2.2: UN of undefined length is a sequence encoded in implicit VR little endian.
        const reader = vr === 'SQ' ? this : new Reader(this.#bytes, IMPLICIT_LE, this.#base);
        const { items, next } = reader.#readSequence(start, undefined, characterSets, printable);
        return { element: { tag, vr: 'SQ', offset, items }, next };
      }
      if (tag === PIXEL_DATA || vr === 'OB' || vr === 'OW') {
        const { fragments, next } = this.#readFragments(start, printable);
        return { element: { tag, vr, offset, fragments }, next };
      }
      throw new DicomError(`undefined length is not allowed for VR ${vr}`, { tag: printable, offset });
    }
    const next = start + length;
    if (next > end) {
      throw new DicomError(
        `value length ${length} runs past the end of the data (${end - start} bytes left)`,
        {
          tag: printable,
          offset,
        },
      );
    }
    if (vr === 'SQ') {
      const { items } = this.#readSequence(start, next, characterSets, printable);
      return { element: { tag, vr, offset, items }, next };
    }
    return { element: { tag, vr, offset, value: this.#bytes.subarray(start, next) }, next };
  }

  #readSequence(
    pos: number,
    end: number | undefined,
    characterSets: readonly string[],
    sequenceTag: string,
  ): { items: DicomItem[]; next: number } {
    const items: DicomItem[] = [];
    const limit = end ?? this.#bytes.length;
    while (pos < limit) {
      const offset = this.#base + pos;
      if (pos + 8 > limit)
        throw new DicomError(`data ends inside an item of sequence ${sequenceTag}`, { offset });
      const tag = tagString(this.u16(pos), this.u16(pos + 2));
      const length = this.u32(pos + 4);
      if (tag === SEQUENCE_DELIMITER) {
        if (end === undefined) return { items, next: pos + 8 };
        pos += 8; // tolerated: a delimiter inside a defined-length sequence
        continue;
      }
      if (tag !== ITEM) {
        throw new DicomError(`expected an item in sequence ${sequenceTag}`, { tag: formatTag(tag), offset });
      }
      if (length === UNDEFINED_LENGTH) {
        const read = this.readItem(pos + 8, undefined, characterSets);
        items.push(read.item);
        pos = read.next;
      } else {
        if (pos + 8 + length > limit) {
          throw new DicomError(`item length ${length} runs past the end of sequence ${sequenceTag}`, {
            tag: formatTag(tag),
            offset,
          });
        }
        items.push(this.readItem(pos + 8, pos + 8 + length, characterSets).item);
        pos += 8 + length;
      }
    }
    if (end === undefined) {
      throw new DicomError(`sequence ${sequenceTag} of undefined length has no delimiter`, {
        offset: this.#base + pos,
      });
    }
    return { items, next: pos };
  }

  #readFragments(pos: number, pixelTag: string): { fragments: Uint8Array[]; next: number } {
    const fragments: Uint8Array[] = [];
    for (;;) {
      const offset = this.#base + pos;
      if (pos + 8 > this.#bytes.length) {
        throw new DicomError('data ends inside encapsulated pixel data', { tag: pixelTag, offset });
      }
      const tag = tagString(this.u16(pos), this.u16(pos + 2));
      const length = this.u32(pos + 4);
      if (tag === SEQUENCE_DELIMITER) return { fragments, next: pos + 8 };
      if (tag !== ITEM)
        throw new DicomError('expected a pixel data fragment', { tag: formatTag(tag), offset });
      if (pos + 8 + length > this.#bytes.length) {
        throw new DicomError(`fragment length ${length} runs past the end of the data`, {
          tag: pixelTag,
          offset,
        });
      }
      fragments.push(this.#bytes.subarray(pos + 8, pos + 8 + length));
      pos += 8 + length;
    }
  }
}

function tagString(group: number, element: number): string {
  return (group * 0x10000 + element).toString(16).padStart(8, '0').toUpperCase();
}
