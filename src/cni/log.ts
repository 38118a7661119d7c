/**
 * The plugins' log: lines appended to `log_file_path` (never stdout, which carries only the result), with a
 * size-based rotation like Calico's (`log_file_max_size` MB, `log_file_max_count` old files `.1` … `.N`).
 * A plugin run is short, so every line is written synchronously: a plugin killed mid-run still leaves its
 * log behind. A log file that cannot be written is not an error for the plugin (logging is best effort).
 * The file is 0600 (as Calico's) and its directory 0755, whatever the umask; a log file that allowed more
 * is narrowed, and says so in its first line.
 */
import { appendFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  PRIVATE_FILE_MODE,
  describeModeChange,
  ensureDirSync,
  ensurePrivateFileSync,
  type ModeChange,
} from '../sys/files.js';
import type { LogLevel } from './netconf.js';

type Fields = Readonly<Record<string, unknown>>;

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warning: 2, error: 3, none: 4 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines carry these fields too. */
  child(fields: Fields): Logger;
}

export interface FileLogOptions {
  readonly path: string;
  readonly level: LogLevel;
  readonly maxSizeMb: number;
  readonly maxCount: number;
  /** Program name shown on each line (`calico`, `calico-ipam`). */
  readonly program: string;
}

function render(fields: Fields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
}

function rotate(path: string, maxSizeMb: number, maxCount: number): void {
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    return;
  }
  if (maxSizeMb <= 0 || size < maxSizeMb * 1024 * 1024) return;
  if (maxCount <= 0) {
    rmSync(path, { force: true });
    return;
  }
  rmSync(`${path}.${maxCount}`, { force: true });
  for (let i = maxCount - 1; i >= 1; i--) {
    try {
      renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    } catch {
      // That generation does not exist yet.
    }
  }
  renameSync(path, `${path}.1`);
}

class FileLogger implements Logger {
  readonly #opts: FileLogOptions;
  readonly #fields: Fields;
  readonly #state: { ready: boolean; broken: boolean };

  constructor(opts: FileLogOptions, fields: Fields, state: { ready: boolean; broken: boolean }) {
    this.#opts = opts;
    this.#fields = fields;
    this.#state = state;
  }

  #write(level: LogLevel, msg: string, fields: Fields | undefined): void {
    if (RANK[level] < RANK[this.#opts.level] || this.#state.broken) return;
    const all = { ...this.#fields, ...fields };
    const tail = Object.keys(all).length === 0 ? '' : ` ${render(all)}`;
    const line = `${new Date().toISOString()} [${level.toUpperCase()}][${process.pid}] ${this.#opts.program}: ${msg}${tail}\n`;
    try {
      if (!this.#state.ready) {
        const changes: ModeChange[] = [];
        const report = (c: ModeChange): void => {
          changes.push(c);
        };
        ensureDirSync(dirname(this.#opts.path), { report });
        rotate(this.#opts.path, this.#opts.maxSizeMb, this.#opts.maxCount);
        ensurePrivateFileSync(this.#opts.path, { followSymlinks: true, report });
        this.#state.ready = true;
        for (const c of changes)
          this.#write('warning', 'narrowed a file mode', { change: describeModeChange(c) });
      }
      appendFileSync(this.#opts.path, line, { mode: PRIVATE_FILE_MODE });
    } catch {
      // Best effort: a plugin must not fail because its log cannot be written.
      this.#state.broken = true;
    }
  }

  debug(msg: string, fields?: Fields): void {
    this.#write('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.#write('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.#write('warning', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.#write('error', msg, fields);
  }
  child(fields: Fields): Logger {
    return new FileLogger(this.#opts, { ...this.#fields, ...fields }, this.#state);
  }
}

export function fileLogger(opts: FileLogOptions): Logger {
  return new FileLogger(opts, {}, { ready: false, broken: false });
}

/** A logger that drops everything (before the config, which names the log file, is read). */
export const nullLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nullLogger,
};
