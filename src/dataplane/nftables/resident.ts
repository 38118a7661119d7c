/**
 * A resident nft for learned elements (DNS policy's hot path, learned.ts): one long-lived `nft -i`, its
 * stderr merged into its stdout, started through the table's CommandRunner (`interactive`, so in the same
 * network namespace as every other nft), instead of one `nft -f -` per answer. Planner transactions do not use it.
 *
 * Protocol (nft 1.0.6): one transaction is ONE input line (its commands joined with '; '; a failing command
 * aborts the whole line), followed by the sentinel line `describe meta mark`, whose output is one line starting
 * with `meta expression, datatype mark`. The output up to the sentinel's is the transaction's: a line with
 * `Error:` means nft refused it; success prints nothing, so only the sentinel is waited for. Not `-e` (echo):
 * echo makes nft fetch the whole ruleset, every set's elements included, before each command (nft 1.0.6, a
 * set of 20,000 elements: 48 ms at the median per one-element line, against 0.11 ms without it). One line in flight at a time (the caller serialises). Every wait
 * is bounded: on timeout or exit the process is killed and the outcome is `unavailable` (the caller runs the
 * batch with `nft -f -`); the next transaction starts a fresh process.
 */
import { formatCommand, type CommandRunner, type InteractiveProcess } from '../exec/command-runner.js';

export const SENTINEL_COMMAND = 'describe meta mark';
export const SENTINEL_OUTPUT = 'meta expression, datatype mark';
/** How long a transaction may take before the process is given up (ms). */
export const RESIDENT_TIMEOUT_MS = 2_000;

export type ResidentOutcome =
  | { readonly kind: 'applied' }
  /** nft refused the transaction: nothing of it was applied. */
  | { readonly kind: 'rejected'; readonly failure: string }
  /** No answer (no process, timeout, exit): whether it was applied is unknown; run it another way. */
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface ResidentNftOptions {
  readonly runner: CommandRunner;
  readonly nft: string;
  readonly timeoutMs?: number;
}

interface Waiter {
  readonly lines: string[];
  readonly settle: (outcome: ResidentOutcome) => void;
}

const ERROR_LINE = /(^|: )Error:/;

/** The commands of an nft script as one input line; undefined when it has none. */
export function oneLine(script: string): string | undefined {
  const commands = script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return commands.length === 0 ? undefined : commands.join('; ');
}

export class ResidentNft {
  readonly #runner: CommandRunner;
  readonly #nft: string;
  readonly #timeoutMs: number;
  #proc: InteractiveProcess | undefined;
  #waiter: Waiter | undefined;
  #closed = false;
  /** Processes started, transactions answered, and given up (timeout, exit). */
  starts = 0;
  answered = 0;
  givenUp = 0;

  constructor(options: ResidentNftOptions) {
    this.#runner = options.runner;
    this.#nft = options.nft;
    this.#timeoutMs = options.timeoutMs ?? RESIDENT_TIMEOUT_MS;
  }

  /** Whether transactions can be sent at all (the runner can run interactive commands; not closed). */
  get usable(): boolean {
    return !this.#closed && this.#runner.interactive !== undefined;
  }

  /** How it is run, for logs and error reports. */
  get command(): string {
    return formatCommand(this.#nft, ['-i']);
  }

  /** Runs `script` (nft commands, one per line) as one transaction. Not re-entrant: one at a time. */
  transaction(script: string): Promise<ResidentOutcome> {
    const line = oneLine(script);
    if (line === undefined) return Promise.resolve({ kind: 'applied' });
    if (this.#waiter !== undefined) return Promise.resolve(unavailable('a transaction is in flight'));
    const proc = this.#process();
    if (proc === undefined) return Promise.resolve(unavailable(`cannot start ${this.command}`));
    return new Promise<ResidentOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.#giveUp(proc, `${this.command}: no answer within ${this.#timeoutMs} ms`);
      }, this.#timeoutMs);
      this.#waiter = {
        lines: [],
        settle: (outcome) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve(outcome);
        },
      };
      proc.write(`${line}\n${SENTINEL_COMMAND}\n`);
    });
  }

  /** Kills the process; later transactions are `unavailable`. */
  close(): void {
    this.#closed = true;
    const proc = this.#proc;
    if (proc !== undefined) this.#giveUp(proc, `${this.command}: closed`);
  }

  #process(): InteractiveProcess | undefined {
    if (this.#proc?.alive === true) return this.#proc;
    this.#proc = undefined;
    const start = this.#runner.interactive?.bind(this.#runner);
    if (this.#closed || start === undefined) return undefined;
    let proc: InteractiveProcess;
    try {
      // stderr (nft's errors) merged into stdout, in order; the nft path is $0, never part of the script.
      proc = start('sh', ['-c', 'exec "$0" -i 2>&1', this.#nft]);
    } catch {
      return undefined;
    }
    this.starts++;
    this.#proc = proc;
    proc.onLine((l) => {
      if (this.#proc === proc) this.#onLine(l);
    });
    proc.onExit((code) => {
      if (this.#proc === proc) this.#giveUp(proc, `${this.command} exited (code ${code})`);
    });
    return proc;
  }

  #onLine(line: string): void {
    const w = this.#waiter;
    if (w === undefined) return; // Nothing asked: stray output.
    if (!line.startsWith(SENTINEL_OUTPUT)) {
      w.lines.push(line);
      return;
    }
    this.answered++;
    const first = w.lines.findIndex((l) => ERROR_LINE.test(l));
    w.settle(
      first < 0 ? { kind: 'applied' } : { kind: 'rejected', failure: w.lines.slice(first).join('\n').trim() },
    );
  }

  #giveUp(proc: InteractiveProcess, reason: string): void {
    if (this.#proc === proc) this.#proc = undefined;
    proc.kill();
    const w = this.#waiter;
    if (w === undefined) return;
    this.givenUp++;
    w.settle(unavailable(reason));
  }
}

function unavailable(reason: string): ResidentOutcome {
  return { kind: 'unavailable', reason };
}
