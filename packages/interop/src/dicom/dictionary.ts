/**
 * The DICOM data dictionary (PS3.6), from dcmjs: the VR of a tag (needed to read implicit VR data sets) and the
 * keyword <-> tag mapping. Tags are 8 upper-case hex digits, `ggggeeee`, as in the DICOM JSON model.
 */
import dcmjs from 'dcmjs';

const { dictionary, nameMap } = dcmjs.data.DicomMetaDictionary;

/** `ggggeeee` -> `(gggg,eeee)`, the form dcmtk and the standard print. */
export function formatTag(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

/** True for a tag in an odd group (a private data element or private creator). */
export function isPrivateTag(tag: string): boolean {
  return (Number.parseInt(tag.slice(3, 4), 16) & 1) === 1;
}

/**
 * The VR the dictionary gives a tag, resolved to one concrete VR for implicit VR data: ambiguous `xs`/`ox`/`US or SS`
 * become US/OW, group lengths UL, private creators LO, unknown and private tags UN.
 */
export function dictionaryVr(tag: string): string {
  const element = tag.slice(4);
  if (element === '0000') return 'UL';
  if (isPrivateTag(tag)) {
    const e = Number.parseInt(element, 16);
    return e >= 0x10 && e <= 0xff ? 'LO' : 'UN';
  }
  const entry = dictionary[formatTag(tag)] ?? repeatingGroupEntry(tag);
  if (entry === undefined) return 'UN';
  const vr = entry.vr;
  if (vr === 'xs' || vr.startsWith('US or')) return 'US';
  if (vr === 'ox' || vr === 'OB or OW' || vr === 'OW or OB') return 'OW';
  if (vr.length !== 2) return 'UN';
  return vr;
}

/** The standard keyword of a tag (`PatientName`), or undefined for private and unknown tags. */
export function keywordOf(tag: string): string | undefined {
  if (isPrivateTag(tag)) return undefined;
  return (dictionary[formatTag(tag)] ?? repeatingGroupEntry(tag))?.name;
}

/** The tag (`ggggeeee`) of a standard keyword, or undefined. */
export function tagOf(keyword: string): string | undefined {
  const entry = nameMap[keyword];
  return entry === undefined ? undefined : entry.tag.replace(/[(),]/g, '').toUpperCase();
}

function repeatingGroupEntry(tag: string) {
  const group = tag.slice(0, 2);
  // Curves (50xx), overlays (60xx) and the like repeat over even groups: the dictionary lists the first one.
  if (group === '50' || group === '60') return dictionary[`(${group}00,${tag.slice(4)})`];
  return undefined;
}
