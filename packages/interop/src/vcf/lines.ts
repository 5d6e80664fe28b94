/**
 * Bytes -> text lines, streaming: gzip and BGZF (multi-member gzip) input is detected by its magic bytes and
 * inflated on the fly; BCF (binary VCF) is recognised and refused. Memory stays bounded by the longest line.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { VcfError } from './errors.ts';

async function* chunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const rest = (async function* () {
    yield first.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  const head = first.value;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = Readable.from(rest, { objectMode: false }).pipe(createGunzip());
    try {
      for await (const chunk of gunzip) yield chunk as Uint8Array;
    } catch (cause) {
      throw new VcfError('compressed input does not inflate', 0, { cause });
    }
    return;
  }
  yield* rest;
}

/** Split a byte stream (plain, gzip or BGZF) into lines without their end-of-line characters. */
export async function* vcfLines(source: AsyncIterable<Uint8Array> | string): AsyncGenerator<string> {
  if (typeof source === 'string') {
    yield* source.split(/\r?\n/);
    return;
  }
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let checked = false;
  for await (const chunk of chunks(source)) {
    if (!checked) {
      checked = true;
      if (chunk[0] === 0x42 && chunk[1] === 0x43 && chunk[2] === 0x46) {
        throw new VcfError('BCF (binary VCF) is not supported; convert it to VCF first (bcftools view)', 0);
      }
    }
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield pending.slice(start, end);
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== '') yield pending.replace(/\r$/, '');
}
