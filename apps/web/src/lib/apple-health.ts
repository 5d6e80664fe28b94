/**
 * Importing an Apple Health export in the browser, as the CLI does: the file (export.xml, or Apple's export.zip
 * read in place: its central directory located, the one entry inflated with DecompressionStream) is streamed twice
 * through the converter. The first pass converts and validates everything and sends nothing; the second seals and
 * anchors the Observations in batches of 500. Nothing is read into memory whole, so exports of gigabytes work.
 */
import {
  AppleHealthConverter,
  type AppleHealthOptions,
  type AppleHealthSummary,
  isAppleHealthExport,
} from '@medbloc/interop/apple-health';
import type { MedblocClient } from '@medbloc/sdk';
import { assertValidFhir } from '../fhir/validate.ts';

export const APPLE_HEALTH_BATCH = 500;

export interface AppleHealthProgress {
  phase: 'checking' | 'sealing';
  done: number;
  total: number;
}

interface XmlSource {
  /** Bytes of XML to read (uncompressed size). */
  size: number;
  open(): ReadableStream<Uint8Array>;
}

const input = (msg: string) => Object.assign(new Error(msg), { name: 'InputError' });

/** The Apple Health XML inside a file, or undefined when the file is not an Apple Health export. */
export async function appleHealthSource(file: File): Promise<XmlSource | undefined> {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return zipEntry(file);
  if (!isAppleHealthExport(await file.slice(0, 4096).text())) return undefined;
  return { size: file.size, open: () => file.stream() };
}

/** `…/export.xml` inside a zip, found through the central directory (zip64 included). */
async function zipEntry(file: File): Promise<XmlSource | undefined> {
  const tailStart = Math.max(0, file.size - 65_557);
  const tail = new DataView(await file.slice(tailStart).arrayBuffer());
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--)
    if (tail.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw input(`${file.name} is not a readable zip file.`);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff && eocd >= 20 && tail.getUint32(eocd - 20, true) === 0x07064b50) {
    const at = Number(tail.getBigUint64(eocd - 12, true));
    const z64 = new DataView(await file.slice(at, at + 56).arrayBuffer());
    cdSize = Number(z64.getBigUint64(40, true));
    cdOffset = Number(z64.getBigUint64(48, true));
  }
  const cd = new DataView(await file.slice(cdOffset, cdOffset + cdSize).arrayBuffer());
  const decoder = new TextDecoder();
  for (let p = 0; p + 46 <= cd.byteLength && cd.getUint32(p, true) === 0x02014b50; ) {
    const method = cd.getUint16(p + 10, true);
    let compressed = cd.getUint32(p + 20, true);
    let size = cd.getUint32(p + 24, true);
    const nameLength = cd.getUint16(p + 28, true);
    const extraLength = cd.getUint16(p + 30, true);
    const commentLength = cd.getUint16(p + 32, true);
    let local = cd.getUint32(p + 42, true);
    const name = decoder.decode(new Uint8Array(cd.buffer, p + 46, nameLength));
    // Zip64: sizes and offset that do not fit 32 bits are in extra field 0x0001, in this order.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength; ) {
      const id = cd.getUint16(e, true);
      const len = cd.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = Number(cd.getBigUint64(q, true));
          q += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(cd.getBigUint64(q, true));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(cd.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    if (name === 'export.xml' || name.endsWith('/export.xml')) {
      if (method !== 0 && method !== 8)
        throw input(
          `${file.name}: export.xml is compressed with method ${method}, which cannot be read here.`,
        );
      const header = new DataView(await file.slice(local, local + 30).arrayBuffer());
      const start = local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
      const bytes = () => file.slice(start, start + compressed).stream();
      return {
        size,
        open: () =>
          method === 8
            ? bytes().pipeThrough(
                new DecompressionStream('deflate-raw') as ReadableWritablePair<Uint8Array, Uint8Array>,
              )
            : bytes(),
      };
    }
    p += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

async function* chunks(stream: ReadableStream<Uint8Array>, onBytes?: (n: number) => void) {
  const reader = stream.getReader();
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      n += value.byteLength;
      onBytes?.(n);
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function converted<T>(run: () => Promise<T>): Promise<T> {
  return run().catch((err: unknown) => {
    // A malformed or foreign file is the person's input to fix: shown as such, naming the line.
    if ((err as { code?: string })?.code === 'APPLE_HEALTH_INVALID') throw input((err as Error).message);
    throw err;
  });
}

/**
 * Imports an Apple Health export for `owner` (default: the signed-in patient). Returns what was read and stored.
 *
 * @example
 * const source = await appleHealthSource(file);
 * if (source) await importAppleHealth(client, source, { patientRef: 'Patient/me', onProgress: setProgress });
 */
export async function importAppleHealth(
  client: MedblocClient,
  source: XmlSource,
  options: {
    patientRef: AppleHealthOptions['patientRef'];
    owner?: `0x${string}`;
    onProgress?: (p: AppleHealthProgress) => void;
  },
): Promise<{ summary: AppleHealthSummary; records: number; batches: number }> {
  const { onProgress } = options;
  // Pass 1: convert and validate every Observation; nothing is sent.
  const summary = await converted(async () => {
    const c = new AppleHealthConverter({ patientRef: options.patientRef });
    const progress = (done: number) => onProgress?.({ phase: 'checking', done, total: source.size });
    for await (const chunk of chunks(source.open(), progress)) {
      const out = c.write(chunk);
      if (out.length) await assertValidFhir(out);
    }
    await assertValidFhir(c.end());
    return c.summary;
  });
  const total = summary.observations;
  if (total === 0)
    throw input(`This Apple Health export has ${summary.records} records, none of a type MedBloc imports.`);
  // Pass 2: the same conversion, sealed and anchored 500 at a time (several batches on their way at once).
  const record = (o: unknown) => ({ resource: o as Record<string, unknown> });
  async function* observations() {
    const c = new AppleHealthConverter({ patientRef: options.patientRef });
    for await (const chunk of chunks(source.open())) yield* c.write(chunk).map(record);
    yield* c.end().map(record);
  }
  const out = await client.ingest(observations(), {
    ...(options.owner ? { owner: options.owner } : {}),
    batchSize: APPLE_HEALTH_BATCH,
    onProgress: (done) => onProgress?.({ phase: 'sealing', done, total }),
  });
  const records = out.recordIds.length;
  const batches = out.batches.length;
  return { summary, records, batches };
}
