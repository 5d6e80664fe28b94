/** A strict XML reader (saxes) into a small element tree that remembers where each element starts. */
import { SaxesParser } from 'saxes';
import { FhirXmlError } from './errors.ts';

export interface XmlElement {
  readonly name: string;
  readonly prefix: string;
  readonly ns: string;
  readonly attrs: ReadonlyMap<string, string>;
  /** Attributes as written, in order, with their prefixes (for re-serialising XHTML). */
  readonly rawAttrs: readonly [string, string][];
  readonly children: (XmlElement | string)[];
  readonly line: number;
  readonly column: number;
}

/**
 * Parses XML text. Comments and processing instructions are dropped; text is kept (as strings) only where it
 * sits between elements, which FHIR uses only inside XHTML.
 *
 * @throws FhirXmlError naming line and column when the text is not well-formed XML.
 */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: { el: XmlElement }[] = [];
  let root: XmlElement | undefined;
  let failure: FhirXmlError | undefined;
  parser.on('error', (err) => {
    failure ??= new FhirXmlError(`malformed XML: ${err.message.replace(/^.*?:\d+:\d+: /, '')}`, {
      line: parser.line,
      column: parser.column,
      cause: err,
    });
  });
  parser.on('opentag', (tag) => {
    const attrs = new Map<string, string>();
    const raw: [string, string][] = [];
    for (const a of Object.values(tag.attributes)) {
      const attr = a as { name: string; local: string; uri: string; value: string };
      raw.push([attr.name, attr.value]);
      if (attr.uri === '' && !attr.name.startsWith('xmlns')) attrs.set(attr.local, attr.value);
    }
    const el: XmlElement = {
      name: tag.local ?? tag.name,
      prefix: tag.prefix ?? '',
      ns: tag.uri ?? '',
      attrs,
      rawAttrs: raw,
      children: [],
      line: parser.line,
      column: parser.column,
    };
    const parent = stack.at(-1);
    if (parent) parent.el.children.push(el);
    else root = el;
    stack.push({ el });
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('text', (t) => {
    stack.at(-1)?.el.children.push(t);
  });
  try {
    parser.write(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).close();
  } catch (err) {
    failure ??= new FhirXmlError(`malformed XML: ${(err as Error).message}`, {
      line: parser.line,
      column: parser.column,
      cause: err,
    });
  }
  if (failure) throw failure;
  if (root === undefined)
    throw new FhirXmlError('no root element', { line: parser.line, column: parser.column });
  return root;
}

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s)
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

/** Writes an element tree back as XML text (for the XHTML narrative, which FHIR JSON carries as a string). */
export function serialize(el: XmlElement): string {
  const attrs = el.rawAttrs.map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  if (el.children.length === 0) return `<${qualified(el)}${attrs}/>`;
  // Quotes in text are written as &quot; too, as the FHIR reference tooling does in narrative.
  const body = el.children
    .map((c) => (typeof c === 'string' ? escapeText(c).replace(/"/g, '&quot;') : serialize(c)))
    .join('');
  return `<${qualified(el)}${attrs}>${body}</${qualified(el)}>`;
}

function qualified(el: XmlElement): string {
  return el.prefix ? `${el.prefix}:${el.name}` : el.name;
}
