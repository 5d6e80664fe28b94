/**
 * Reads the text of one HL7 v2 message into segments that remember their line numbers. Splitting into fields,
 * repetitions and components is Medplum's (`Hl7Segment`); this module adds what a converter needs on top:
 * any line ending, a UTF-8 BOM, unescaping, subcomponents and precise errors.
 */
import { Hl7Context, Hl7Segment } from '@medplum/core';
import { Hl7v2Error } from './errors.ts';

/** One repetition of a field: components (1-based) made of subcomponents (1-based), already unescaped. */
export class Rep {
  readonly comps: readonly (readonly string[])[];
  constructor(comps: readonly (readonly string[])[]) {
    this.comps = comps;
  }
  /** Component `n` (its first subcomponent), or '' when absent. */
  c(n: number): string {
    return this.comps[n - 1]?.[0] ?? '';
  }
  /** Subcomponent `m` of component `n`, or '' when absent. */
  s(n: number, m: number): string {
    return this.comps[n - 1]?.[m - 1] ?? '';
  }
  /** Component `n` as one repetition whose components are its subcomponents (HL7 nests types this way). */
  sub(n: number): Rep {
    return new Rep((this.comps[n - 1] ?? []).map((s) => [s]));
  }
  get empty(): boolean {
    return this.comps.every((c) => c.every((s) => s === ''));
  }
}

const EMPTY = new Rep([]);

/** One segment of the message and the line it came from. */
export class Segment {
  readonly name: string;
  readonly line: number;
  readonly #raw: Hl7Segment;
  readonly #escapeChar: string;
  readonly #sub: string;

  constructor(raw: Hl7Segment, line: number, escapeChar: string, sub: string) {
    this.name = raw.name;
    this.line = line;
    this.#raw = raw;
    this.#escapeChar = escapeChar;
    this.#sub = sub;
  }

  /** The non-empty repetitions of field `i` (1-based, HL7 numbering: MSH-3 is `field(3)` on MSH too). */
  reps(i: number): Rep[] {
    const field = this.#raw.getField(i) as ReturnType<Hl7Segment['getField']> | undefined;
    if (field === undefined) return [];
    const out: Rep[] = [];
    for (const rep of field.components) {
      const r = new Rep(
        rep.map((comp) => comp.split(this.#sub).map((s) => unescapeHl7(s, this.#escapeChar))),
      );
      if (!r.empty) out.push(r);
    }
    return out;
  }

  /** First repetition of field `i` (an empty one when absent). */
  rep(i: number): Rep {
    return this.reps(i)[0] ?? EMPTY;
  }

  /** Component 1 of the first repetition of field `i`, or ''. */
  str(i: number): string {
    return this.rep(i).c(1);
  }

  /** Field `i` as unescaped text with its repetitions joined by newlines (for free-text fields). */
  text(i: number): string {
    return this.reps(i)
      .map((r) => r.comps.map((c) => c.join('&')).join('^'))
      .join('\n');
  }
}

/** A parsed message: its segments in order plus the MSH facts every mapping needs. */
export interface Hl7v2Message {
  readonly segments: readonly Segment[];
  /** MSH-9.1, e.g. `ADT`. */
  readonly messageCode: string;
  /** MSH-9.2, e.g. `A01`. */
  readonly triggerEvent: string;
  /** MSH-10. */
  readonly controlId: string;
  /** MSH-12. */
  readonly version: string;
  /** The time zone offset of MSH-7 (e.g. `+0215`), the sender's zone for times sent without one. */
  readonly defaultOffset: string | undefined;
}

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

/**
 * Parses HL7 v2 text. Accepts CR, LF or CRLF segment terminators, blank lines and a leading UTF-8 BOM.
 *
 * @throws Hl7v2Error when the first segment is not MSH, the encoding characters are unusable, or a line is not a segment.
 * @example
 * const msg = parseHl7v2(text); msg.segments.filter((s) => s.name === 'OBX')
 */
export function parseHl7v2(text: string): Hl7v2Message {
  if (typeof text !== 'string') throw new Hl7v2Error('input is not text', { line: 1, segment: '?' });
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\r|\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) throw new Hl7v2Error('empty message', { line: 1, segment: '?' });
  const header = lines[first] as string;
  if (!header.startsWith('MSH')) {
    throw new Hl7v2Error('a message must start with an MSH segment', {
      line: first + 1,
      segment: header.slice(0, 3) || '?',
    });
  }
  const fieldSep = header.charAt(3);
  const encoding = header.slice(4).split(fieldSep)[0] ?? '';
  // Some senders double the escape character (`^~\\&`); the separators are the distinct characters in order.
  const chars = [...new Set(encoding)];
  if (fieldSep === '' || /[A-Za-z0-9\s]/.test(fieldSep) || chars.length < 2 || chars.includes(fieldSep)) {
    throw new Hl7v2Error('MSH-1/MSH-2 do not hold usable separator characters', {
      line: first + 1,
      segment: 'MSH',
    });
  }
  const [comp = '^', rep = '~', escapeChar = '\\', sub = '&'] = chars;
  const context = new Hl7Context('\r', fieldSep, comp, rep, escapeChar, sub);

  const segments: Segment[] = [];
  for (let i = first; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const name = line.slice(0, 3);
    if (!SEGMENT_NAME.test(name) || (line.length > 3 && line.charAt(3) !== fieldSep)) {
      throw new Hl7v2Error(
        'line is not a segment (expected a 3-character segment name then a field separator)',
        {
          line: i + 1,
          segment: SEGMENT_NAME.test(name) ? name : '?',
        },
      );
    }
    if (name === 'MSH' && i !== first) {
      throw new Hl7v2Error('a second MSH segment: batches of messages are not supported', {
        line: i + 1,
        segment: 'MSH',
      });
    }
    segments.push(new Segment(Hl7Segment.parse(line, context), i + 1, escapeChar, sub));
  }

  const msh = segments[0] as Segment;
  const type = msh.rep(9);
  if (type.c(1) === '')
    throw new Hl7v2Error('MSH-9 (message type) is empty', { line: msh.line, segment: 'MSH' });
  const offset = /([+-]\d{4})$/.exec(msh.str(7))?.[1];
  return {
    segments,
    messageCode: type.c(1).toUpperCase(),
    triggerEvent: type.c(2).toUpperCase(),
    controlId: msh.str(10),
    version: msh.str(12),
    defaultOffset: offset,
  };
}

/** Resolves HL7 escape sequences (\F\ \S\ \T\ \R\ \E\ \.br\ \Xhh\); formatting commands are dropped. */
function unescapeHl7(value: string, esc: string): string {
  if (value === '""') return '';
  if (!value.includes(esc)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value.charAt(i);
    const end = ch === esc ? value.indexOf(esc, i + 1) : -1;
    if (end < 0) {
      out += ch;
      i++;
      continue;
    }
    const seq = value.slice(i + 1, end);
    const known = escapeSequence(seq, esc);
    if (known === undefined) {
      out += ch;
      i++;
      continue;
    }
    out += known;
    i = end + 1;
  }
  return out;
}

function escapeSequence(seq: string, esc: string): string | undefined {
  switch (seq) {
    case 'F':
      return '|';
    case 'S':
      return '^';
    case 'T':
      return '&';
    case 'R':
      return '~';
    case 'E':
      return esc;
    case '.br':
      return '\n';
    case 'H':
    case 'N':
      return '';
  }
  if (/^X(?:[0-9A-Fa-f]{2})+$/.test(seq)) return Buffer.from(seq.slice(1), 'hex').toString('utf8');
  if (/^\.(?:sp|in|ti|ce|fi|nf|sk)[+-]?\d*$/.test(seq)) return seq.startsWith('.sp') ? '\n' : '';
  return undefined;
}
