/** The parsed form of a DICOM data set: elements keep their raw value bytes, so they can be written back unchanged. */

/** One data element. Tags are 8 upper-case hex digits, `ggggeeee`, as in the DICOM JSON model (PS3.18 §F). */
export interface DicomElement {
  readonly tag: string;
  /** Value representation, read from the stream (explicit VR) or the data dictionary (implicit VR). */
  readonly vr: string;
  /** Byte offset of the element header in the parsed stream (the inflated stream for deflated files). */
  readonly offset: number;
  /** Raw value bytes in the data set's byte order (absent for sequences and encapsulated pixel data). */
  readonly value?: Uint8Array;
  /** Items of a sequence (VR SQ, or UN of undefined length, which is a sequence in implicit VR little endian). */
  readonly items?: readonly DicomItem[];
  /** Encapsulated pixel data fragments (JPEG, JPEG 2000, RLE...), opaque; the first is the basic offset table. */
  readonly fragments?: readonly Uint8Array[];
}

/** A data set or sequence item: its elements in stream order, and the context needed to decode their values. */
export interface DicomItem {
  readonly elements: ReadonlyMap<string, DicomElement>;
  /** Specific Character Set terms in force (own (0008,0005) or inherited from the enclosing data set). */
  readonly characterSets: readonly string[];
  readonly littleEndian: boolean;
}

/** A whole DICOM file or stream, with its File Meta Information when it had one. */
export interface DicomDataset extends DicomItem {
  /** Group 0002 elements (always explicit VR little endian); empty for a file without meta header. */
  readonly meta: ReadonlyMap<string, DicomElement>;
  readonly transferSyntaxUID: string;
  readonly explicitVR: boolean;
  readonly deflated: boolean;
  /** True when the file started with the 128-byte preamble and `DICM`. */
  readonly hasPreamble: boolean;
}

export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
} as const;

/** VRs whose explicit encoding has 2 reserved bytes and a 32-bit length. */
export const LONG_VRS = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

/** Every VR of PS3.5 §6.2. */
export const ALL_VRS = new Set([
  ...LONG_VRS,
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'SL',
  'SS',
  'ST',
  'TM',
  'UI',
  'UL',
  'US',
]);

/** VRs whose values are text, and which of them the Specific Character Set applies to. */
export const STRING_VRS = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);
export const CHARSET_VRS = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);
/** Text VRs that hold one value (backslash is not a separator). */
export const SINGLE_VALUED_VRS = new Set(['LT', 'ST', 'UT', 'UR']);
