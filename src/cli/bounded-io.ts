/**
 * Error output within bounds (api/limits.ts): every line is cut at MAX_ERROR_LINE_CHARS and the whole
 * stderr of a command at MAX_ERROR_OUTPUT_CHARS, after which one marker line says that more was cut. Every
 * command writes through this, so no input (a megabyte selector, a binary file) can flood the terminal.
 */
import { MAX_ERROR_LINE_CHARS, MAX_ERROR_OUTPUT_CHARS, truncateText } from '../api/limits.js';
import type { CliIo } from './io.js';

export function boundedIo(io: CliIo): CliIo {
  let written = 0;
  let cut = false;
  const err = (text: string): void => {
    if (cut) return;
    const bounded = text
      .split('\n')
      .map((line) => truncateText(line, MAX_ERROR_LINE_CHARS))
      .join('\n');
    if (written + bounded.length > MAX_ERROR_OUTPUT_CHARS) {
      cut = true;
      io.err(`... (more error output not shown: over ${MAX_ERROR_OUTPUT_CHARS} characters)\n`);
      return;
    }
    written += bounded.length;
    io.err(bounded);
  };
  return { ...io, err };
}
