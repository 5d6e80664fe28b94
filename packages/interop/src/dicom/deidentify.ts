/**
 * De-identification per DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile: the attributes of
 * Table E.1-1 are removed (X), emptied (Z), given dummy values (D) or have their UIDs replaced (U), at every nesting
 * depth; all private attributes are removed; Patient Identity Removed and De-identification Method are set.
 * Where the table offers a choice (X/Z, Z/D, X/Z/D...) the IOD-conformant and more protective one is used: Z for
 * Type 2 attributes, D only where a value is required. UIDs map deterministically (HMAC-SHA-256 under a key, to
 * `2.25.<decimal>`), so the instances of one study still reference each other after de-identification.
 */
import { createHmac } from 'node:crypto';
import { isPrivateTag } from './dictionary.ts';
import type { DicomDataset, DicomElement, DicomItem } from './model.ts';
import { parseDicom } from './parse.ts';
import { textValues } from './values.ts';
import { writeDicom } from './write.ts';

type Action = 'X' | 'Z' | 'D' | 'U';

/** PS3.15 Table E.1-1 (Basic Profile column), tag -> action. */
const BASIC_PROFILE: Record<string, Action> = {
  '00080050': 'Z',
  '00184000': 'X',
  '00400555': 'X',
  '00080022': 'X',
  '0008002A': 'X',
  '00181400': 'X',
  '00189424': 'X',
  '00080032': 'X',
  '00404035': 'X',
  '001021B0': 'X',
  '00380010': 'X',
  '00380020': 'X',
  '00081084': 'X',
  '00081080': 'X',
  '00380021': 'X',
  '00001000': 'X',
  '00102110': 'X',
  '40000010': 'X',
  '0040A078': 'X',
  '00101081': 'X',
  '00181007': 'X',
  '00400280': 'X',
  '00209161': 'U',
  '00403001': 'X',
  '00700084': 'Z',
  '00700086': 'X',
  '00080023': 'Z',
  '0040A730': 'X',
  '00080033': 'Z',
  '0008010D': 'U',
  '00180010': 'Z',
  '0018A003': 'X',
  '00102150': 'X',
  '00089123': 'U',
  '00380300': 'X',
  '00080025': 'X',
  '00080035': 'X',
  '0040A07C': 'X',
  FFFCFFFC: 'X',
  '00082111': 'X',
  '0018700A': 'X',
  '00181000': 'X',
  '00181002': 'U',
  '04000100': 'X',
  FFFAFFFA: 'X',
  '00209164': 'U',
  '00380040': 'X',
  '4008011A': 'X',
  '40080119': 'X',
  '300A0013': 'U',
  '00102160': 'X',
  '00080058': 'U',
  '0070031A': 'U',
  '00402017': 'Z',
  '00209158': 'X',
  '00200052': 'U',
  '00181008': 'X',
  '00181005': 'X',
  '00700001': 'X',
  '00404037': 'X',
  '00404036': 'X',
  '00880200': 'X',
  '00084000': 'X',
  '00204000': 'X',
  '00284000': 'X',
  '00402400': 'X',
  '40080300': 'X',
  '00080014': 'U',
  '00080081': 'X',
  '00081040': 'X',
  '00101050': 'X',
  '00080082': 'X',
  '00080080': 'X',
  '00401011': 'X',
  '40080111': 'X',
  '4008010C': 'X',
  '40080115': 'X',
  '40080202': 'X',
  '40080102': 'X',
  '4008010B': 'X',
  '4008010A': 'X',
  '00083010': 'U',
  '00380011': 'X',
  '00100021': 'X',
  '00100024': 'X',
  '00380061': 'X',
  '00281214': 'U',
  '001021D0': 'X',
  '04000404': 'X',
  '00020003': 'U',
  '00102000': 'X',
  '00101090': 'X',
  '00101080': 'X',
  '04000550': 'X',
  '00203406': 'X',
  '00203401': 'X',
  '00203404': 'X',
  '00081060': 'X',
  '00401010': 'X',
  '00102180': 'X',
  '00081072': 'X',
  '00081070': 'X',
  '04000561': 'X',
  '00402010': 'X',
  '00402008': 'X',
  '00402009': 'X',
  '00101000': 'X',
  '00101002': 'X',
  '00101001': 'X',
  '00080024': 'X',
  '00080034': 'X',
  '00281199': 'U',
  '0040A07A': 'X',
  '00101040': 'X',
  '00104000': 'X',
  '00100010': 'Z',
  '00100020': 'Z',
  '00102203': 'X',
  '00380500': 'X',
  '00401004': 'X',
  '00101010': 'X',
  '00100030': 'Z',
  '00101005': 'X',
  '00100032': 'X',
  '00380400': 'X',
  '00100050': 'X',
  '00101060': 'X',
  '00100101': 'X',
  '00100102': 'X',
  '001021F0': 'X',
  '00100040': 'Z',
  '00101020': 'X',
  '00102155': 'X',
  '00102154': 'X',
  '00101030': 'X',
  '00400243': 'X',
  '00400254': 'X',
  '00400253': 'X',
  '00400244': 'X',
  '00400245': 'X',
  '00400241': 'X',
  '00404030': 'X',
  '00400242': 'X',
  '00404028': 'X',
  '00081052': 'X',
  '00081050': 'X',
  '00401102': 'X',
  '00401101': 'D',
  '0040A123': 'D',
  '00401103': 'X',
  '40080114': 'X',
  '00081062': 'X',
  '00081048': 'X',
  '00081049': 'X',
  '00402016': 'Z',
  '00181004': 'X',
  '00400012': 'X',
  '001021C0': 'X',
  '00181030': 'X',
  '00402001': 'X',
  '00321030': 'X',
  '04000402': 'X',
  '30060024': 'U',
  '00404023': 'U',
  '00381234': 'X',
  '00081120': 'X',
  '00081111': 'X',
  '04000403': 'X',
  '00081155': 'U',
  '00041511': 'U',
  '00080092': 'X',
  '00080096': 'X',
  '00080090': 'Z',
  '00080094': 'X',
  '00102152': 'X',
  '300600C2': 'U',
  '00400275': 'X',
  '00321070': 'X',
  '00401400': 'X',
  '00321060': 'X',
  '00401001': 'X',
  '00401005': 'X',
  '00001001': 'U',
  '00321032': 'X',
  '00321033': 'X',
  '00102299': 'X',
  '00102297': 'X',
  '40084000': 'X',
  '40080118': 'X',
  '40080042': 'X',
  '300E0008': 'X',
  '00404034': 'X',
  '0038001E': 'X',
  '0040000B': 'X',
  '00400006': 'X',
  '00400004': 'X',
  '00400005': 'X',
  '00400007': 'X',
  '00400011': 'X',
  '00400002': 'X',
  '00400003': 'X',
  '00400001': 'X',
  '00404027': 'X',
  '00400010': 'X',
  '00404025': 'X',
  '00321020': 'X',
  '00321021': 'X',
  '00080021': 'X',
  '0008103E': 'X',
  '0020000E': 'U',
  '00080031': 'X',
  '00380062': 'X',
  '00380060': 'X',
  '001021A0': 'X',
  '00080018': 'U',
  '00380050': 'X',
  '00081010': 'X',
  '00880140': 'U',
  '00324000': 'X',
  '00080020': 'Z',
  '00081030': 'X',
  '00200010': 'Z',
  '00320012': 'X',
  '0020000D': 'U',
  '00080030': 'Z',
  '00200200': 'U',
  '0040DB0D': 'U',
  '0040DB0C': 'U',
  '40004000': 'X',
  '20300020': 'X',
  '00080201': 'X',
  '00880910': 'X',
  '00880912': 'X',
  '00880906': 'X',
  '00880904': 'X',
  '00081195': 'U',
  '0040A124': 'U',
  '0040A088': 'Z',
  '0040A075': 'D',
  '0040A073': 'D',
  '0040A027': 'X',
  '00384000': 'X',
  '00080015': 'X',
  '00080013': 'X',
  '00080012': 'X',
  '00181200': 'X',
  '00181201': 'X',
  '00181012': 'X',
  '00181014': 'X',
  '0040A121': 'D',
  '0040A122': 'D',
  '0040A120': 'D',
  '0040A030': 'D',
  '00321050': 'X',
  '00101100': 'X',
  '00380004': 'X',
  '00020016': 'X',
  '00321040': 'X',
  '00321041': 'X',
  '00321000': 'X',
  '00321001': 'X',
  '00321010': 'X',
  '00321011': 'X',
};

/** UID attributes that name a standard class or scheme rather than an instance: never replaced. */
const KEEP_UIDS = new Set([
  '00020002',
  '00020010',
  '00020012',
  '00080016',
  '00081150',
  '0008010C',
  '00080062',
]);

export interface DeidentifyOptions {
  /**
   * Key of the UID mapping. The same key maps the same UID to the same replacement (studies stay consistent
   * across files); keep it secret, or anyone holding the original UIDs can link them to the new ones.
   */
  uidKey?: string | Uint8Array;
}

const DEFAULT_UID_KEY = 'medbloc-dicom-deidentification-v1';
const ascii = new TextEncoder();

/**
 * De-identify a DICOM file (PS3.15 Basic Profile) and return the new file's bytes, in the same transfer syntax.
 *
 * @throws {DicomError} when the input does not parse.
 * @example
 * const safe = deidentifyDicom(bytes, { uidKey: studySecret });
 */
export function deidentifyDicom(bytes: Uint8Array, options: DeidentifyOptions = {}): Uint8Array {
  const dataset = parseDicom(bytes);
  const mapUid = uidMapper(options.uidKey ?? DEFAULT_UID_KEY);
  const elements = new Map(deidentifyItem(dataset, mapUid));
  const put = (tag: string, vr: string, value: string) =>
    elements.set(tag, { tag, vr, offset: -1, value: padded(value, vr) });
  put('00120062', 'CS', 'YES');
  put('00120063', 'LO', 'DICOM PS3.15 Basic Application Confidentiality Profile');
  elements.set('00120064', {
    tag: '00120064',
    vr: 'SQ',
    offset: -1,
    items: [
      {
        characterSets: [],
        littleEndian: dataset.littleEndian,
        elements: new Map<string, DicomElement>([
          ['00080100', { tag: '00080100', vr: 'SH', offset: -1, value: padded('113100', 'SH') }],
          ['00080102', { tag: '00080102', vr: 'SH', offset: -1, value: padded('DCM', 'SH') }],
          [
            '00080104',
            {
              tag: '00080104',
              vr: 'LO',
              offset: -1,
              value: padded('Basic Application Confidentiality Profile', 'LO'),
            },
          ],
        ]),
      },
    ],
  });
  const meta = new Map(deidentifyMeta(dataset, elements, mapUid));
  return writeDicom({ ...dataset, elements, meta });
}

function deidentifyMeta(
  dataset: DicomDataset,
  elements: ReadonlyMap<string, DicomElement>,
  mapUid: (uid: string) => string,
): Map<string, DicomElement> {
  const meta = new Map<string, DicomElement>();
  for (const [tag, element] of dataset.meta) {
    if (tag === '00020016' || Number.parseInt(tag.slice(4), 16) >= 0x0100) continue; // AE title, private meta
    if (tag === '00020003') {
      meta.set(tag, replaceUids(element, dataset, mapUid));
      continue;
    }
    meta.set(tag, element);
  }
  // A file that had no meta header gets one: Part 10 requires it.
  const text = (tag: string, fallback: string) => {
    const element = elements.get(tag);
    return element === undefined ? fallback : (textValues(element, dataset)[0] ?? fallback);
  };
  const ensure = (tag: string, vr: string, value: () => string | Uint8Array) => {
    if (meta.has(tag)) return;
    const v = value();
    meta.set(tag, { tag, vr, offset: -1, value: typeof v === 'string' ? padded(v, vr) : v });
  };
  ensure('00020001', 'OB', () => new Uint8Array([0, 1]));
  ensure('00020002', 'UI', () => text('00080016', '1.2.840.10008.5.1.4.1.1.7'));
  ensure('00020003', 'UI', () => text('00080018', mapUid('unknown')));
  ensure('00020010', 'UI', () => dataset.transferSyntaxUID);
  ensure('00020012', 'UI', () => IMPLEMENTATION_CLASS_UID);
  return meta;
}

const IMPLEMENTATION_CLASS_UID = uidMapper('medbloc')('implementation-class');

function deidentifyItem(item: DicomItem, mapUid: (uid: string) => string): Map<string, DicomElement> {
  const out = new Map<string, DicomElement>();
  for (const [tag, element] of item.elements) {
    if (isPrivateTag(tag)) continue;
    const group = tag.slice(0, 2);
    const action: Action | undefined =
      BASIC_PROFILE[tag] ??
      (group === '50' ? 'X' : undefined) ?? // curve data
      (group === '60' && (tag.endsWith('3000') || tag.endsWith('4000')) ? 'X' : undefined); // overlay data, comments
    if (action === 'X') continue;
    if (element.items !== undefined) {
      if (action === 'Z') {
        out.set(tag, { ...element, items: [] });
        continue;
      }
      out.set(tag, {
        ...element,
        items: element.items.map((child) => ({ ...child, elements: deidentifyItem(child, mapUid) })),
      });
      continue;
    }
    if (action === 'Z') {
      out.set(tag, withValue(element, new Uint8Array()));
    } else if (action === 'D') {
      out.set(tag, withValue(element, dummy(element)));
    } else if (element.vr === 'UI' && !KEEP_UIDS.has(tag)) {
      out.set(tag, replaceUids(element, item, mapUid));
    } else if (element.vr === 'PN') {
      // Names the table does not list (e.g. in templates) are emptied all the same.
      out.set(tag, withValue(element, new Uint8Array()));
    } else {
      out.set(tag, element);
    }
  }
  return out;
}

function withValue(element: DicomElement, value: Uint8Array): DicomElement {
  const { fragments: _f, items: _i, ...rest } = element;
  return { ...rest, value };
}

function replaceUids(element: DicomElement, item: DicomItem, mapUid: (uid: string) => string): DicomElement {
  const uids = textValues(element, item).map((uid) => (uid === '' || isStandardUid(uid) ? uid : mapUid(uid)));
  return withValue(element, padded(uids.join('\\'), 'UI'));
}

function isStandardUid(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.');
}

function dummy(element: DicomElement): Uint8Array {
  const byVr: Record<string, string> = {
    DA: '19000101',
    TM: '000000',
    DT: '19000101000000',
    PN: 'DEIDENTIFIED',
    LO: 'DEIDENTIFIED',
    SH: 'DEIDENTIFIED',
    LT: 'DEIDENTIFIED',
    ST: 'DEIDENTIFIED',
    UT: 'DEIDENTIFIED',
    CS: 'DEIDENTIFIED',
    AS: '000Y',
    IS: '0',
    DS: '0',
  };
  const text = byVr[element.vr];
  if (text !== undefined) return padded(text, element.vr);
  return new Uint8Array(element.value?.length ?? 0); // binary values: zeros of the same length
}

/** Encode an ASCII value padded to even length (NUL for UI, space otherwise). */
function padded(value: string, vr: string): Uint8Array {
  const bytes = ascii.encode(value);
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = vr === 'UI' || vr === 'OB' ? 0 : 0x20;
  return out;
}

/** Deterministic UID replacement: `2.25.` + the first 128 bits of HMAC-SHA-256(key, uid) as a decimal. */
function uidMapper(key: string | Uint8Array): (uid: string) => string {
  const cache = new Map<string, string>();
  return (uid) => {
    let mapped = cache.get(uid);
    if (mapped === undefined) {
      const digest = createHmac('sha256', key).update(uid).digest('hex').slice(0, 32);
      mapped = `2.25.${BigInt(`0x${digest}`).toString(10)}`;
      cache.set(uid, mapped);
    }
    return mapped;
  };
}
