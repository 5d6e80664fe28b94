/**
 * A strict JSON syntax scanner that reports where a document goes wrong, which `JSON.parse` does not always say
 * (V8 omits the position for an unexpected token), and finds duplicate object keys, which `JSON.parse` accepts
 * silently by keeping the last value — for a medical record, two readers could then see different data.
 */

/** A syntax problem at a character offset. */
export interface JsonProblem {
  readonly message: string;
  readonly offset: number;
}

/** Returns the first syntax error or duplicate key in `text`, or `undefined` when it is clean JSON. */
export function scanJson(text: string): JsonProblem | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.skipWhitespace();
    scanner.value('$');
    scanner.skipWhitespace();
    if (scanner.pos < text.length) scanner.fail('Unexpected content after the end of the JSON value');
    return undefined;
  } catch (error) {
    if (error instanceof ScanError) return { message: error.message, offset: error.offset };
    throw error;
  }
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class ScanError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Scanner {
  readonly text: string;
  pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  fail(message: string, offset: number = this.pos): never {
    throw new ScanError(message, offset);
  }

  skipWhitespace(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return;
      this.pos++;
    }
  }

  value(path: string): void {
    const c = this.text[this.pos];
    if (c === '{') this.object(path);
    else if (c === '[') this.array(path);
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (this.text.startsWith('true', this.pos)) this.pos += 4;
    else if (this.text.startsWith('false', this.pos)) this.pos += 5;
    else if (this.text.startsWith('null', this.pos)) this.pos += 4;
    else if (c === undefined) this.fail('Unexpected end of input: a value was expected');
    else if (c === '/') this.fail('Comments are not allowed in JSON');
    else this.fail(`Unexpected character ${JSON.stringify(c)}: a value was expected`);
  }

  object(path: string): void {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    const keys = new Set<string>();
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.expected('a property name in double quotes');
      const keyStart = this.pos;
      const key = this.string();
      if (keys.has(key)) this.fail(`Duplicate property "${key}" in object at ${path}`, keyStart);
      keys.add(key);
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.expected("':' after a property name");
      this.pos++;
      this.skipWhitespace();
      this.value(`${path}.${key}`);
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === '}') {
        this.pos++;
        return;
      }
      if (c !== ',') this.expected("',' or '}' after a property value");
      this.pos++;
    }
  }

  array(path: string): void {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.skipWhitespace();
      this.value(`${path}[${i}]`);
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ']') {
        this.pos++;
        return;
      }
      if (c !== ',') this.expected("',' or ']' after an array element");
      this.pos++;
    }
  }

  string(): string {
    const { text } = this;
    const start = this.pos;
    this.pos++;
    for (;;) {
      const end = text.indexOf('"', this.pos);
      if (end < 0) this.fail('Unterminated string', start);
      let backslashes = 0;
      for (let i = end - 1; i > start && text.charCodeAt(i) === 92; i--) backslashes++;
      this.pos = end + 1;
      if (backslashes % 2 === 0) break;
    }
    const raw = text.slice(start, this.pos);
    for (let i = 0; i < raw.length; i++) {
      if (raw.charCodeAt(i) < 0x20) this.fail('Unescaped control character in a string', start + i);
    }
    try {
      return JSON.parse(raw) as string;
    } catch {
      return this.fail('Invalid escape sequence in a string', start);
    }
  }

  number(): void {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail('Invalid number');
    this.pos += match[0].length;
  }

  expected(what: string): never {
    const c = this.text[this.pos];
    if (c === undefined) this.fail(`Unexpected end of input: expected ${what}`);
    return this.fail(`Unexpected character ${JSON.stringify(c)}: expected ${what}`);
  }
}
