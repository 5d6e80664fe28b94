/**
 * Decoding of DICOM text under (0008,0005) Specific Character Set (PS3.5 §6.1 and Annex K/H/I/J examples):
 * single-byte ISO 8859 parts, UTF-8, GB18030/GBK, and ISO 2022 code extensions switched by escape sequences
 * (Japanese JIS X 0201/0208/0212, Korean KS X 1001, Chinese GB 2312, ISO 8859 G1 sets). Each code set is decoded
 * by the platform's WHATWG TextDecoder; this module only tracks the ISO 2022 state.
 */

/** Defined term -> WHATWG encoding label, for character sets without code extensions. */
const SINGLE: Record<string, string> = {
  '': 'latin1',
  ISO_IR_6: 'latin1',
  'ISO_IR 6': 'latin1',
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 166': 'windows-874',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/** How a code set decodes: G0 sets take 7-bit bytes, G1 sets bytes with the high bit set. */
interface CodeSet {
  /** TextDecoder label. */
  encoding: string;
  /** Bytes per character. */
  width: 1 | 2;
  /** Prefix bytes to add so the TextDecoder sees its own encoding (e.g. 0x8f for JIS X 0212 in EUC-JP). */
  prefix?: number;
  /** Set the high bit of each byte (7-bit ISO 2022 G0 form -> EUC form). */
  setHigh?: boolean;
}

const ASCII: CodeSet = { encoding: 'latin1', width: 1 };

/** Escape sequence (bytes after ESC, as latin1) -> [graphic set, code set]. */
const ESCAPES: Record<string, ['G0' | 'G1', CodeSet]> = {
  '(B': ['G0', ASCII],
  '(J': ['G0', ASCII], // JIS X 0201 romaji: ASCII except two symbols
  ')I': ['G1', { encoding: 'shift_jis', width: 1 }], // JIS X 0201 katakana
  $B: ['G0', { encoding: 'euc-jp', width: 2, setHigh: true }], // JIS X 0208
  '$(D': ['G0', { encoding: 'euc-jp', width: 2, setHigh: true, prefix: 0x8f }], // JIS X 0212
  '$)C': ['G1', { encoding: 'euc-kr', width: 2 }], // KS X 1001
  '$)A': ['G1', { encoding: 'gbk', width: 2 }], // GB 2312
  '-A': ['G1', { encoding: 'latin1', width: 1 }],
  '-B': ['G1', { encoding: 'iso-8859-2', width: 1 }],
  '-C': ['G1', { encoding: 'iso-8859-3', width: 1 }],
  '-D': ['G1', { encoding: 'iso-8859-4', width: 1 }],
  '-L': ['G1', { encoding: 'iso-8859-5', width: 1 }],
  '-G': ['G1', { encoding: 'iso-8859-6', width: 1 }],
  '-F': ['G1', { encoding: 'iso-8859-7', width: 1 }],
  '-H': ['G1', { encoding: 'iso-8859-8', width: 1 }],
  '-M': ['G1', { encoding: 'iso-8859-9', width: 1 }],
  '-T': ['G1', { encoding: 'windows-874', width: 1 }],
  '-b': ['G1', { encoding: 'iso-8859-15', width: 1 }],
};

/** Initial G0/G1 designation of the first value of Specific Character Set when it is an ISO 2022 term. */
const ISO2022_INITIAL: Record<string, string> = {
  'ISO 2022 IR 6': '(B',
  'ISO 2022 IR 100': '-A',
  'ISO 2022 IR 101': '-B',
  'ISO 2022 IR 109': '-C',
  'ISO 2022 IR 110': '-D',
  'ISO 2022 IR 144': '-L',
  'ISO 2022 IR 127': '-G',
  'ISO 2022 IR 126': '-F',
  'ISO 2022 IR 138': '-H',
  'ISO 2022 IR 148': '-M',
  'ISO 2022 IR 13': ')I',
  'ISO 2022 IR 166': '-T',
  'ISO 2022 IR 203': '-b',
  'ISO 2022 IR 87': '$B',
  'ISO 2022 IR 159': '$(D',
  'ISO 2022 IR 149': '$)C',
  'ISO 2022 IR 58': '$)A',
};

const decoders = new Map<string, TextDecoder>();
function decoder(encoding: string): TextDecoder {
  let d = decoders.get(encoding);
  if (d === undefined) {
    d = new TextDecoder(encoding);
    decoders.set(encoding, d);
  }
  return d;
}

/** True when the data set's character sets can be decoded (unknown terms fall back to Latin-1 when decoding). */
export function isKnownCharacterSet(term: string): boolean {
  const t = term.trim();
  return t in SINGLE || t in ISO2022_INITIAL;
}

const ESC = 0x1b;
/** Delimiters at which ISO 2022 text returns to the initial code sets (PS3.5 §6.1.2.5.3). */
const RESETS = new Set([0x5c, 0x3d, 0x5e, 0x0d, 0x0a, 0x09, 0x0c]);

/**
 * Decode a text value's bytes under the Specific Character Set terms in force (`[]` means the default repertoire).
 * Under ISO 2022 the code sets return to their initial designation at `\`, `^`, `=` and control characters.
 */
export function decodeText(bytes: Uint8Array, characterSets: readonly string[]): string {
  const terms = characterSets.map((t) => t.trim());
  const first = terms[0] ?? '';
  const usesIso2022 = terms.length > 1 || first.startsWith('ISO 2022');
  if (!usesIso2022) return decoder(SINGLE[first] ?? 'latin1').decode(bytes);
  if (!bytes.includes(ESC) && !bytes.some((b) => b >= 0x80)) return decoder('latin1').decode(bytes);
  return decodeIso2022(bytes, first);
}

function decodeIso2022(bytes: Uint8Array, first: string): string {
  const initial = (): [CodeSet, CodeSet | undefined] => {
    const esc = ISO2022_INITIAL[first];
    const designation = esc === undefined ? undefined : ESCAPES[esc];
    if (designation === undefined) return [ASCII, undefined];
    return designation[0] === 'G0' ? [designation[1], undefined] : [ASCII, designation[1]];
  };
  let [g0, g1] = initial();
  let out = '';
  let run: number[] = [];
  let runSet: CodeSet = ASCII;
  const flush = () => {
    if (run.length > 0) out += decoder(runSet.encoding).decode(Uint8Array.from(run));
    run = [];
  };
  const emit = (set: CodeSet, chunk: number[]) => {
    if (set !== runSet) {
      flush();
      runSet = set;
    }
    if (set.prefix !== undefined) run.push(set.prefix);
    for (const b of chunk) run.push(set.setHigh ? b | 0x80 : b);
  };
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b === ESC) {
      const seq = matchEscape(bytes, i + 1);
      if (seq !== undefined) {
        const [graphic, set] = ESCAPES[seq] as ['G0' | 'G1', CodeSet];
        if (graphic === 'G0') g0 = set;
        else g1 = set;
        i += 1 + seq.length;
        continue;
      }
      i += 1;
      continue;
    }
    if (b >= 0x80) {
      const set = g1 ?? ASCII;
      emit(set, Array.from(bytes.subarray(i, i + set.width)));
      i += set.width;
      continue;
    }
    if (g0.width === 2 && b > 0x20) {
      emit(g0, Array.from(bytes.subarray(i, i + 2)));
      i += 2;
      continue;
    }
    emit(ASCII, [b]);
    if (RESETS.has(b)) [g0, g1] = initial();
    i += 1;
  }
  flush();
  return out;
}

function matchEscape(bytes: Uint8Array, at: number): string | undefined {
  for (const len of [3, 2]) {
    const seq = String.fromCharCode(...bytes.subarray(at, at + len));
    if (seq in ESCAPES) return seq;
  }
  return undefined;
}
