/**
 * The bounds on what is read and what is echoed back, in one place (documented in docs/design/cli.md).
 * Resource input is read as bytes and refused past a size; values quoted in messages are cut with a marker,
 * so that a huge selector or a binary file never turns into megabytes of error output.
 */

/** Largest resource input read from one file or from stdin (bytes). */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;
/** Largest resource input read by one command over all its files (bytes). */
export const MAX_TOTAL_BYTES = 32 * 1024 * 1024;
/** Longest value quoted in a message (characters); longer ones are cut and marked. */
export const MAX_ECHO_CHARS = 120;
/** Longest single line of error output (characters); longer lines are cut and marked. */
export const MAX_ERROR_LINE_CHARS = 2000;
/** Most problem lines one command prints; the rest are counted in one summary line. */
export const MAX_PROBLEMS_SHOWN = 100;
/** Most error output one command writes (characters); the rest is replaced by one marker line. */
export const MAX_ERROR_OUTPUT_CHARS = 64 * 1024;

/** `MiB` text for a byte limit, for messages. */
export function mebibytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}

/** The first `max` characters of `text` and a marker saying how long it was, or `text` when short enough. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}... (${text.length} characters)`;
}
