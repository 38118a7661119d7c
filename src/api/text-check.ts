/**
 * The byte-level checks Calico's YAML decoder (go-yaml's reader) makes before parsing, done while the input
 * streams in, so that a binary file or `/dev/zero` is refused at its first bad byte: the input must be
 * UTF-8 (a UTF-8 byte-order mark is skipped; UTF-16 with a byte-order mark is decoded), and may not hold
 * control characters other than tab, line feed and carriage return. Problems carry go-yaml's wording and
 * the byte offset where they were found.
 */

export interface TextProblem {
  /** Byte offset of the offending sequence from the start of the input. */
  readonly offset: number;
  /** go-yaml's reader message, e.g. `invalid leading UTF-8 octet`. */
  readonly message: string;
}

export function formatTextProblem(source: string, p: TextProblem): string {
  return `${source}: byte offset ${p.offset}: yaml: ${p.message}`;
}

/** The characters YAML allows in a stream (go-yaml's reader check). */
function allowedCodePoint(c: number): boolean {
  return (
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    (c >= 0x20 && c <= 0x7e) ||
    c === 0x85 ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

const CONTROL = 'control characters are not allowed';

function widthOf(lead: number): number {
  if ((lead & 0x80) === 0) return 1;
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 0;
}

const MIN_FOR_WIDTH = [0, 0, 0x80, 0x800, 0x10000];

/**
 * Checks a stream chunk by chunk (sequences may span chunks). `push` and `end` return the first problem;
 * after one, the checker must not be fed again.
 */
export class YamlTextChecker {
  #offset = 0;
  /** Bytes of a sequence cut by the end of the previous chunk. */
  #pending: number[] = [];
  #started = false;
  #utf16 = false;

  /** True when the input started with a UTF-16 byte-order mark (decode it with `decodeUtf16`). */
  get utf16(): boolean {
    return this.#utf16;
  }

  push(chunk: Uint8Array): TextProblem | undefined {
    let bytes = chunk;
    if (!this.#started) {
      if (this.#pending.length + bytes.length < 3 && bytes.length > 0) {
        // Too short to tell the encoding yet: wait for more (or the end).
        this.#pending.push(...bytes);
        return undefined;
      }
      this.#started = true;
      bytes = Uint8Array.from([...this.#pending, ...bytes]);
      this.#pending = [];
      const b0 = bytes[0];
      const b1 = bytes[1];
      if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
        this.#utf16 = true;
        return undefined;
      }
      if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) {
        this.#offset = 3;
        bytes = bytes.subarray(3);
      }
    }
    if (this.#utf16) return undefined;
    return this.#scan(bytes);
  }

  end(): TextProblem | undefined {
    if (!this.#started && this.#pending.length > 0) {
      const rest = Uint8Array.from(this.#pending);
      this.#pending = [];
      this.#started = true;
      const p = this.#scan(rest);
      if (p !== undefined) return p;
    }
    if (this.#pending.length > 0) {
      return { offset: this.#offset, message: 'incomplete UTF-8 octet sequence' };
    }
    return undefined;
  }

  #scan(chunk: Uint8Array): TextProblem | undefined {
    let bytes = chunk;
    if (this.#pending.length > 0) {
      bytes = Uint8Array.from([...this.#pending, ...chunk]);
      this.#pending = [];
    }
    let i = 0;
    while (i < bytes.length) {
      const lead = bytes[i] ?? 0;
      if (lead < 0x80) {
        if (!allowedCodePoint(lead)) return { offset: this.#offset, message: CONTROL };
        i++;
        this.#offset++;
        continue;
      }
      const width = widthOf(lead);
      if (width === 0) return { offset: this.#offset, message: 'invalid leading UTF-8 octet' };
      if (i + width > bytes.length) {
        this.#pending = Array.from(bytes.subarray(i));
        return undefined;
      }
      let value = lead & (width === 2 ? 0x1f : width === 3 ? 0x0f : 0x07);
      for (let k = 1; k < width; k++) {
        const b = bytes[i + k] ?? 0;
        if ((b & 0xc0) !== 0x80) {
          return { offset: this.#offset + k, message: 'invalid trailing UTF-8 octet' };
        }
        value = (value << 6) | (b & 0x3f);
      }
      if (value < (MIN_FOR_WIDTH[width] ?? 0)) {
        return { offset: this.#offset, message: 'invalid length of a UTF-8 sequence' };
      }
      if ((value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff) {
        return { offset: this.#offset, message: 'invalid Unicode character' };
      }
      if (!allowedCodePoint(value)) return { offset: this.#offset, message: CONTROL };
      i += width;
      this.#offset += width;
    }
    return undefined;
  }
}

/** Decodes a UTF-16 input that starts with its byte-order mark, with the same character check. */
export function decodeUtf16(bytes: Uint8Array): { text: string } | { problem: TextProblem } {
  const le = bytes[0] === 0xff;
  let text: string;
  try {
    text = new TextDecoder(le ? 'utf-16le' : 'utf-16be', { fatal: true }).decode(bytes);
  } catch {
    return { problem: { offset: 0, message: 'invalid UTF-16 input' } };
  }
  let offset = 2;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (!allowedCodePoint(c)) return { problem: { offset, message: CONTROL } };
    offset += c > 0xffff ? 4 : 2;
  }
  return { text };
}
