/**
 * DICOM Part 10 writer for data sets produced by `parseDicom` (possibly edited): preamble, File Meta Information
 * with recomputed group length, then the data set in its own transfer syntax (deflated again when it was).
 * Sequences, items and encapsulated pixel data are written with undefined length, which every transfer syntax
 * allows, so edits inside nested items need no length bookkeeping.
 */
import { deflateRawSync } from 'node:zlib';
import type { DicomDataset, DicomElement, DicomItem } from './model.ts';
import { LONG_VRS, TransferSyntax } from './model.ts';

interface Sink {
  chunks: Uint8Array[];
  size: number;
}

/** Serialise a data set as a DICOM file. */
export function writeDicom(dataset: DicomDataset): Uint8Array {
  const meta: Sink = { chunks: [], size: 0 };
  const metaElements = [...dataset.meta.values()].filter((e) => e.tag !== '00020000').sort(byTag);
  for (const element of metaElements) writeElement(meta, element, true, true);
  const groupLength = new Uint8Array(12);
  const gl = new DataView(groupLength.buffer);
  gl.setUint16(0, 0x0002, true);
  gl.setUint16(2, 0x0000, true);
  groupLength.set([0x55, 0x4c], 4); // UL
  gl.setUint16(6, 4, true);
  gl.setUint32(8, meta.size, true);

  const body: Sink = { chunks: [], size: 0 };
  const littleEndian = dataset.transferSyntaxUID !== TransferSyntax.ExplicitVRBigEndian;
  writeItemElements(body, dataset, littleEndian, dataset.explicitVR);
  let bodyBytes = concat(body);
  if (dataset.deflated) bodyBytes = deflateRawSync(bodyBytes);

  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat({ chunks: [preamble, groupLength, concat(meta), bodyBytes], size: 0 });
}

function byTag(a: DicomElement, b: DicomElement): number {
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

function writeItemElements(sink: Sink, item: DicomItem, littleEndian: boolean, explicitVR: boolean): void {
  for (const element of [...item.elements.values()].sort(byTag))
    writeElement(sink, element, littleEndian, explicitVR);
}

function header(
  tag: string,
  vr: string,
  length: number,
  littleEndian: boolean,
  explicitVR: boolean,
): Uint8Array {
  const group = Number.parseInt(tag.slice(0, 4), 16);
  const element = Number.parseInt(tag.slice(4), 16);
  const isItemTag = group === 0xfffe;
  const long = !explicitVR || isItemTag || LONG_VRS.has(vr);
  const out = new Uint8Array(!explicitVR || isItemTag ? 8 : long ? 12 : 8);
  const view = new DataView(out.buffer);
  // Item and delimitation tags are always written in the data set's byte order without a VR.
  view.setUint16(0, group, littleEndian);
  view.setUint16(2, element, littleEndian);
  if (!explicitVR || isItemTag) {
    view.setUint32(4, length, littleEndian);
  } else if (long) {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    view.setUint32(8, length, littleEndian);
  } else {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    view.setUint16(6, length, littleEndian);
  }
  return out;
}

const UNDEFINED = 0xffffffff;

function writeElement(sink: Sink, element: DicomElement, littleEndian: boolean, explicitVR: boolean): void {
  if (element.items !== undefined) {
    push(sink, header(element.tag, 'SQ', UNDEFINED, littleEndian, explicitVR));
    for (const item of element.items) {
      push(sink, header('FFFEE000', '', UNDEFINED, littleEndian, explicitVR));
      writeItemElements(sink, item, littleEndian, explicitVR);
      push(sink, header('FFFEE00D', '', 0, littleEndian, explicitVR));
    }
    push(sink, header('FFFEE0DD', '', 0, littleEndian, explicitVR));
    return;
  }
  if (element.fragments !== undefined) {
    push(sink, header(element.tag, element.vr, UNDEFINED, littleEndian, explicitVR));
    for (const fragment of element.fragments) {
      push(sink, header('FFFEE000', '', fragment.length, littleEndian, explicitVR));
      push(sink, fragment);
    }
    push(sink, header('FFFEE0DD', '', 0, littleEndian, explicitVR));
    return;
  }
  const value = element.value ?? new Uint8Array();
  push(sink, header(element.tag, element.vr, value.length, littleEndian, explicitVR));
  push(sink, value);
}

function push(sink: Sink, bytes: Uint8Array): void {
  sink.chunks.push(bytes);
  sink.size += bytes.length;
}

function concat(sink: Sink): Uint8Array {
  const size = sink.chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of sink.chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
