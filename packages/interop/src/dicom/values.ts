/**
 * Reading element values: text split into values and decoded under the Specific Character Set, numbers in the data
 * set's byte order, and the DICOM JSON model (PS3.18 §F) of a whole data set.
 */
import { decodeText } from './charset.ts';
import { tagOf } from './dictionary.ts';
import type { DicomElement, DicomItem } from './model.ts';
import { CHARSET_VRS, SINGLE_VALUED_VRS, STRING_VRS } from './model.ts';

/** A value as the DICOM JSON model gives it. */
export type DicomValue = string | number | PersonName | DicomJson;
export interface PersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}
/** DICOM JSON model of a data set: tag -> { vr, Value | InlineBinary }. */
export type DicomJson = Record<string, { vr: string; Value?: DicomValue[]; InlineBinary?: string }>;

/** Resolve `PatientName`, `00100010` or `(0010,0010)` to the element in `item`. */
export function dicomElement(item: DicomItem, key: string): DicomElement | undefined {
  const tag = /^\(?[0-9A-Fa-f]{4},?[0-9A-Fa-f]{4}\)?$/.test(key)
    ? key.replace(/[(),]/g, '').toUpperCase()
    : tagOf(key);
  return tag === undefined ? undefined : item.elements.get(tag);
}

/** The text values of an element (split at `\`, padding removed, decoded with the item's character set). */
export function textValues(element: DicomElement, item: DicomItem): string[] {
  const bytes = element.value;
  if (bytes === undefined || bytes.length === 0) return [];
  const text = CHARSET_VRS.has(element.vr)
    ? decodeText(bytes, item.characterSets)
    : new TextDecoder('latin1').decode(bytes);
  if (SINGLE_VALUED_VRS.has(element.vr)) return [text.replace(/[\0 ]+$/, '')];
  return text
    .split('\\')
    .map((v) => (element.vr === 'UI' ? v.replace(/[\0 ]+$/, '') : v.replace(/^ +|[ \0]+$/g, '')));
}

/** The numeric values of a binary-number element (US, SS, UL, SL, FL, FD, UV, SV) or of IS/DS text. */
export function numberValues(element: DicomElement, item: DicomItem): number[] {
  const bytes = element.value;
  if (bytes === undefined || bytes.length === 0) return [];
  if (element.vr === 'IS' || element.vr === 'DS') return textValues(element, item).map(Number);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = item.littleEndian;
  const read: Record<string, [number, (o: number) => number]> = {
    US: [2, (o) => view.getUint16(o, le)],
    SS: [2, (o) => view.getInt16(o, le)],
    UL: [4, (o) => view.getUint32(o, le)],
    SL: [4, (o) => view.getInt32(o, le)],
    FL: [4, (o) => view.getFloat32(o, le)],
    FD: [8, (o) => view.getFloat64(o, le)],
    UV: [8, (o) => Number(view.getBigUint64(o, le))],
    SV: [8, (o) => Number(view.getBigInt64(o, le))],
  };
  const reader = read[element.vr];
  if (reader === undefined) return [];
  const [size, get] = reader;
  const out: number[] = [];
  for (let o = 0; o + size <= bytes.length; o += size) out.push(get(o));
  return out;
}

/**
 * First text value of an element, or undefined when absent or empty.
 * @example dicomString(ds, 'StudyInstanceUID')
 */
export function dicomString(item: DicomItem, key: string): string | undefined {
  const element = dicomElement(item, key);
  if (element === undefined) return undefined;
  const first = textValues(element, item)[0];
  return first === undefined || first === '' ? undefined : first;
}

/** First numeric value of an element, or undefined. */
export function dicomNumber(item: DicomItem, key: string): number | undefined {
  const element = dicomElement(item, key);
  return element === undefined ? undefined : numberValues(element, item)[0];
}

/** Items of a sequence element, or `[]`. */
export function dicomItems(item: DicomItem, key: string): readonly DicomItem[] {
  return dicomElement(item, key)?.items ?? [];
}

/**
 * The DICOM JSON model (PS3.18 §F) of a data set or item, the form `dcm2json` prints: text decoded to Unicode,
 * IS/DS as numbers, PN split into component groups, binary values as base64 `InlineBinary` (in little endian).
 */
export function toDicomJson(item: DicomItem): DicomJson {
  const out: DicomJson = {};
  for (const element of item.elements.values()) {
    const entry: DicomJson[string] = { vr: element.vr };
    if (element.items !== undefined) {
      if (element.items.length > 0) entry.Value = element.items.map(toDicomJson);
    } else if (element.fragments !== undefined) {
      // Encapsulated data has no inline JSON form without a bulk data URI.
    } else if (element.vr === 'PN') {
      const names = textValues(element, item).map(personName);
      if (names.some((name) => Object.keys(name).length > 0)) entry.Value = names;
    } else if (element.vr === 'AT') {
      const bytes = element.value ?? new Uint8Array();
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const tags: string[] = [];
      for (let o = 0; o + 4 <= bytes.length; o += 4) {
        const t = view.getUint16(o, item.littleEndian) * 0x10000 + view.getUint16(o + 2, item.littleEndian);
        tags.push(t.toString(16).padStart(8, '0').toUpperCase());
      }
      if (tags.length > 0) entry.Value = tags;
    } else if (element.vr === 'IS' || element.vr === 'DS') {
      const values = textValues(element, item).map((v) => (v === '' ? v : Number(v)));
      if (values.length > 0) entry.Value = values;
    } else if (STRING_VRS.has(element.vr)) {
      const values = textValues(element, item);
      if (values.length > 0) entry.Value = values;
    } else if (['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV'].includes(element.vr)) {
      const values = numberValues(element, item);
      if (values.length > 0) entry.Value = values;
    } else if (element.value !== undefined && element.value.length > 0) {
      entry.InlineBinary = Buffer.from(element.value).toString('base64');
    }
    out[element.tag] = entry;
  }
  return out;
}

function personName(value: string): PersonName {
  // Trailing empty components carry nothing: `^^^^` is an empty name.
  const [alphabetic, ideographic, phonetic] = value.split('=').map((group) => group.replace(/\^+$/, ''));
  const name: PersonName = {};
  if (alphabetic) name.Alphabetic = alphabetic;
  if (ideographic) name.Ideographic = ideographic;
  if (phonetic) name.Phonetic = phonetic;
  return name;
}
