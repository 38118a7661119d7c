/**
 * BIRD's output as agent log entries. BIRD runs in the foreground with `log stderr all` (render.ts), so each
 * line reads `<date> <time> <CLASS> <message>`; lines printed before the configuration is read (a parse
 * error, a socket in use) are `bird: <message>`. The class gives the level: DBG debug; TRACE (the protocol
 * `debug` options that BGPConfiguration.logSeverityScreen turns on) and INFO info; RMT and WARN warning;
 * ERR, AUTH, FATAL and BUG error (but `Shutdown completed`, which BIRD logs as FATAL, is info). Lines are
 * split from a byte stream by LineSplitter, which bounds their length. Pure.
 */

export type BirdLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface BirdLogLine {
  readonly level: BirdLogLevel;
  /** BIRD's class name (`TRACE`, `ERR`, …), or undefined for a line without one. */
  readonly birdClass: string | undefined;
  readonly msg: string;
}

/** The longest line passed on; the rest of a longer line is dropped and the line marked. */
export const MAX_BIRD_LINE = 2048;

const CLASS_LEVEL: Readonly<Record<string, BirdLogLevel>> = {
  DBG: 'debug',
  TRACE: 'info',
  INFO: 'info',
  RMT: 'warn',
  WARN: 'warn',
  ERR: 'error',
  AUTH: 'error',
  FATAL: 'error',
  BUG: 'error',
};

const STAMPED = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? <([A-Z]+)> (.*)$/;

export function parseBirdLogLine(line: string): BirdLogLine {
  const m = STAMPED.exec(line);
  const cls = m?.[1];
  if (m !== null && cls !== undefined) {
    const msg = m[2] ?? '';
    // BIRD logs its normal end in the FATAL class (so that it is always shown): not an error.
    const level = cls === 'FATAL' && msg === 'Shutdown completed' ? 'info' : (CLASS_LEVEL[cls] ?? 'info');
    return { level, birdClass: cls, msg };
  }
  // Unclassified lines come before the log is set up: start-up problems.
  return { level: 'warn', birdClass: undefined, msg: line.replace(/^bird: /, '') };
}

/**
 * Splits text chunks into lines (without their `\n` or `\r\n`), each at most `maxLength` characters: a longer
 * line is cut there, marked ` [line truncated]`, and the rest of it up to its newline dropped.
 */
export class LineSplitter {
  readonly #max: number;
  #buffer = '';
  #dropping = false;

  constructor(maxLength = MAX_BIRD_LINE) {
    this.#max = maxLength;
  }

  push(chunk: string): string[] {
    const out: string[] = [];
    let rest = chunk;
    for (;;) {
      const nl = rest.indexOf('\n');
      const piece = nl < 0 ? rest : rest.slice(0, nl);
      if (!this.#dropping) this.#buffer += piece;
      if (this.#buffer.length > this.#max) {
        out.push(`${this.#buffer.slice(0, this.#max)} [line truncated]`);
        this.#buffer = '';
        this.#dropping = true;
      }
      if (nl < 0) break;
      if (!this.#dropping) out.push(this.#buffer.replace(/\r$/, ''));
      this.#buffer = '';
      this.#dropping = false;
      rest = rest.slice(nl + 1);
    }
    return out;
  }

  /** What is left after the last newline (at end of stream). */
  flush(): string[] {
    const last = this.#dropping || this.#buffer === '' ? [] : [this.#buffer.replace(/\r$/, '')];
    this.#buffer = '';
    this.#dropping = false;
    return last;
  }
}
