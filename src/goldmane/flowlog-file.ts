/**
 * The JSON-lines flow log for log shippers: each bucket calico-goldmane completes (the same bucket, at the same
 * moment, as Flows.Stream) appends one line per flow, the Flow message in Goldmane's shape (src/flows/types.ts:
 * snake_case fields, enum names) with its start_time/end_time the bucket's. The file is `flows.log` in the
 * directory (default /var/log/calico/flowlogs), mode 0644; past `maxBytes` it is rotated to flows.log.1 ...
 * flows.log.<maxFiles> (the oldest is removed), so the disk used is bounded by about maxBytes × (maxFiles + 1).
 */
import { appendFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDirSync, FILE_MODE } from '../sys/files.js';
import type { CompletedBucket } from './aggregator.js';

export const DEFAULT_FLOWLOG_DIR = '/var/log/calico/flowlogs';
export const FLOWLOG_FILE = 'flows.log';

export interface FlowLogFileOptions {
  readonly dir?: string;
  /** Rotate once the file reaches this size (default 100 MiB). */
  readonly maxBytes?: number;
  /** Rotated files kept (default 5). */
  readonly maxFiles?: number;
}

/** Lines per write: bounds the string built for a bucket of many flows. */
const CHUNK = 1_000;

export class FlowLogFile {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  #size: number;
  /** Flows written, for the bench and tests. */
  written = 0;

  constructor(opts: FlowLogFileOptions = {}) {
    const dir = opts.dir ?? DEFAULT_FLOWLOG_DIR;
    this.#maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.#maxFiles = opts.maxFiles ?? 5;
    ensureDirSync(dir);
    this.path = join(dir, FLOWLOG_FILE);
    this.#size = existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /** Appends the bucket's flows (none: nothing written). */
  write(bucket: CompletedBucket): void {
    let lines: string[] = [];
    for (const r of bucket.flows(null)) {
      lines.push(JSON.stringify(r.flow));
      if (lines.length >= CHUNK) {
        this.#append(lines);
        lines = [];
      }
    }
    if (lines.length > 0) this.#append(lines);
  }

  #append(lines: readonly string[]): void {
    if (this.#size >= this.#maxBytes) this.#rotate();
    const text = `${lines.join('\n')}\n`;
    appendFileSync(this.path, text, { mode: FILE_MODE });
    this.#size += Buffer.byteLength(text);
    this.written += lines.length;
  }

  #rotate(): void {
    rmSync(`${this.path}.${this.#maxFiles}`, { force: true });
    for (let i = this.#maxFiles - 1; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (this.#maxFiles > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.#size = 0;
  }
}
