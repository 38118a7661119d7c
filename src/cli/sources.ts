/**
 * Reading the `-f` sources of a command (files, the YAML/JSON files of a directory, `-` for stdin) as
 * bounded byte streams: at most MAX_SOURCE_BYTES from one source and MAX_TOTAL_BYTES in all, each checked
 * as go-yaml's reader checks its input (UTF-8, no control characters) while it streams in, so `-f /dev/zero`
 * or a binary file stops at the first bad byte and a stream that never ends stops at the limit.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { MAX_SOURCE_BYTES, MAX_TOTAL_BYTES, mebibytes } from '../api/limits.js';
import { decodeUtf16, formatTextProblem, YamlTextChecker } from '../api/text-check.js';
import { CliError } from './io.js';
import type { CliIo } from './io.js';

export interface SourceText {
  /** The file name as given (or found in a directory), `<stdin>` for `-`. */
  readonly source: string;
  readonly text: string;
}

export interface ReadSources {
  readonly texts: readonly SourceText[];
  /** One line per source that is not text (`file: byte offset N: yaml: ...`); other sources still count. */
  readonly problems: readonly string[];
  /** How many sources were read (files, stdin). */
  readonly count: number;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const CHUNK_BYTES = 64 * 1024;

function listFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...listFiles(p, true));
    } else if (EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      out.push(p);
    }
  }
  return out;
}

/** The bytes of stdin: the process's stream, or (in-process runs) the text the caller supplied. */
function stdinChunks(io: CliIo): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (io.stdinBytes !== undefined) return io.stdinBytes();
  const read = io.readStdin;
  return (async function* () {
    yield Buffer.from(await read(), 'utf8');
  })();
}

/** One async view of either kind of chunk source (stopping early still closes the underlying stream). */
async function* chunksOf(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  yield* chunks;
}

/** Shared by the sources of one command: the bytes read so far. */
class Budget {
  used = 0;
}

async function readOne(
  source: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  budget: Budget,
): Promise<{ text: string } | { problem: string }> {
  const checker = new YamlTextChecker();
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunksOf(chunks)) {
    size += chunk.length;
    budget.used += chunk.length;
    if (size > MAX_SOURCE_BYTES) {
      throw new CliError(
        `${source}: input is larger than ${mebibytes(MAX_SOURCE_BYTES)}, the limit for one file or stdin; ` +
          'split it into smaller files',
      );
    }
    if (budget.used > MAX_TOTAL_BYTES) {
      throw new CliError(
        `${source}: the input of this command is larger than ${mebibytes(MAX_TOTAL_BYTES)} in all, the limit; ` +
          'give the files to several commands',
      );
    }
    const p = checker.push(chunk);
    if (p !== undefined) return { problem: formatTextProblem(source, p) };
    parts.push(chunk);
  }
  const p = checker.end();
  if (p !== undefined) return { problem: formatTextProblem(source, p) };
  const bytes = Buffer.concat(parts);
  if (checker.utf16) {
    const decoded = decodeUtf16(bytes);
    return 'problem' in decoded ? { problem: formatTextProblem(source, decoded.problem) } : decoded;
  }
  const text = bytes.toString('utf8');
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/** Reads every `-f` source; missing paths and oversize input are errors (CliError), bad bytes are problems. */
export async function readSources(
  filenames: readonly string[],
  recursive: boolean,
  io: CliIo,
): Promise<ReadSources> {
  const budget = new Budget();
  const texts: SourceText[] = [];
  const problems: string[] = [];
  let count = 0;
  for (const f of filenames) {
    const files: { source: string; chunks: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array> }[] = [];
    if (f === '-') {
      files.push({ source: '<stdin>', chunks: () => stdinChunks(io) });
    } else {
      let isDir: boolean;
      try {
        isDir = statSync(f).isDirectory();
      } catch {
        throw new CliError(`the path "${f}" does not exist`);
      }
      const names = isDir ? listFiles(f, recursive) : [f];
      if (isDir && names.length === 0)
        throw new CliError(`no .yaml, .yml or .json files in directory "${f}"`);
      for (const name of names) {
        files.push({ source: name, chunks: () => createReadStream(name, { highWaterMark: CHUNK_BYTES }) });
      }
    }
    for (const { source, chunks } of files) {
      count++;
      let read: { text: string } | { problem: string };
      try {
        read = await readOne(source, chunks(), budget);
      } catch (e) {
        if (e instanceof CliError) throw e;
        throw new CliError(`${source}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if ('problem' in read) problems.push(read.problem);
      else texts.push({ source, text: read.text });
    }
  }
  return { texts, problems, count };
}
