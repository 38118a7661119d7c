/**
 * The two things NftTable asks of the `nft` binary: run a script as one transaction (`nft -f -`, stdin) and
 * list our table as JSON (`nft -j -p list table inet calico`, protocols numeric). Counts calls and failures.
 * A failed run that started is not an exception here (its stderr is returned); nft that cannot be started is a
 * KernelProgrammingError; abort and timeout propagate unchanged.
 *
 * When the runner can prepare commands (command-runner.ts), one `nft -f -` is kept started and waiting for
 * its input, through the same runner (so in the same network namespace), and the next transaction is written
 * to it: the process start (3 ms at the median, tens of ms on a busy machine) is off the path from a change to
 * the kernel. nft reads the kernel's state only after its input, so a process started earlier sees the
 * state the transaction meets. A standby that ended meanwhile (killed) is replaced by a fresh run, which is
 * safe because it was given nothing; `close` disposes the one waiting.
 */
import { KernelProgrammingError, isAbortError } from '../../lib/errors.js';
import {
  formatCommand,
  PreparedExitedError,
  type CommandRunner,
  type PreparedCommand,
  type RunResult,
} from '../exec/command-runner.js';
import { emptyKernelState, listsTable, parseNftJson, type KernelState } from './kernel-state.js';
import { NFT_FAMILY, NFT_TABLE } from '../rules/names.js';

export interface NftCliOptions {
  readonly runner: CommandRunner;
  readonly nft: string;
  readonly timeoutMs: number;
}

const LIST_ARGS = ['-j', '-p', 'list', 'table', NFT_FAMILY, NFT_TABLE] as const;
const TRANSACTION_ARGS = ['-f', '-'] as const;

export class NftCli {
  readonly #runner: CommandRunner;
  readonly #nft: string;
  readonly #timeoutMs: number;
  /** The `nft -f -` waiting for the next transaction. */
  #standby: PreparedCommand | undefined;
  #closed = false;
  calls = 0;
  errors = 0;
  /** Transactions run by a standby process (the rest started nft when they were sent). */
  standbyRuns = 0;

  constructor(options: NftCliOptions) {
    this.#runner = options.runner;
    this.#nft = options.nft;
    this.#timeoutMs = options.timeoutMs;
  }

  /** How transactions are run, for error reports. */
  get transactionCommand(): string {
    return formatCommand(this.#nft, TRANSACTION_ARGS);
  }

  /** Runs `script` as one transaction: undefined when nft accepted it, else nft's complaint. */
  async transaction(script: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    let r: RunResult;
    try {
      r = await this.#run(TRANSACTION_ARGS, script, signal, this.#takeStandby());
    } finally {
      this.#prepareStandby();
    }
    if (r.code === 0) return undefined;
    this.errors++;
    return r.stderr.trim() || `exit code ${r.code}`;
  }

  /** Disposes the waiting process; later transactions start nft when they are sent. */
  close(): void {
    this.#closed = true;
    this.#standby?.dispose();
    this.#standby = undefined;
  }

  #takeStandby(): PreparedCommand | undefined {
    const s = this.#standby;
    this.#standby = undefined;
    if (s?.alive === true) return s;
    s?.dispose();
    return undefined;
  }

  #prepareStandby(): void {
    if (this.#closed || this.#standby !== undefined || this.#runner.prepare === undefined) return;
    try {
      this.#standby = this.#runner.prepare(this.#nft, TRANSACTION_ARGS);
    } catch {
      // Not fatal: the next transaction starts nft itself.
      this.#standby = undefined;
    }
  }

  /** What the kernel holds in our table (an empty state when the table does not exist). */
  async listTable(signal: AbortSignal | undefined): Promise<KernelState> {
    const r = await this.#listTable(signal);
    if (r === undefined) return emptyKernelState();
    const parsed = parseNftJson(r.stdout);
    if (parsed.ok) return parsed.value;
    throw this.#failure(`nftables: ${parsed.error}`, LIST_ARGS, r);
  }

  /** Our table as nft lists it in JSON, with counter values (undefined when the table does not exist). */
  async listTableJson(signal: AbortSignal | undefined): Promise<string | undefined> {
    return (await this.#listTable(signal))?.stdout;
  }

  async #listTable(signal: AbortSignal | undefined): Promise<RunResult | undefined> {
    const r = await this.#run(LIST_ARGS, undefined, signal);
    if (r.code === 0) return r;
    // Most likely the table does not exist yet (first start); check rather than parse nft's message.
    const tables = await this.#run(['-j', 'list', 'tables', NFT_FAMILY], undefined, signal);
    const listed = tables.code === 0 ? listsTable(tables.stdout, NFT_FAMILY, NFT_TABLE) : undefined;
    if (listed?.ok === true && !listed.value) return undefined;
    throw this.#failure(`nftables: cannot list table ${NFT_FAMILY} ${NFT_TABLE}`, LIST_ARGS, r);
  }

  #failure(message: string, args: readonly string[], r: RunResult): KernelProgrammingError {
    this.errors++;
    const command = formatCommand(this.#nft, args);
    return new KernelProgrammingError(`${message}: ${r.stderr.trim()}`, {
      command,
      exitCode: r.code,
      stderr: r.stderr,
    });
  }

  async #run(
    args: readonly string[],
    stdin: string | undefined,
    signal: AbortSignal | undefined,
    standby?: PreparedCommand,
  ): Promise<RunResult> {
    this.calls++;
    const opts = { ...(signal === undefined ? {} : { signal }), timeoutMs: this.#timeoutMs };
    try {
      if (standby !== undefined) {
        try {
          const r = await standby.run(stdin ?? '', opts);
          this.standbyRuns++;
          return r;
        } catch (e) {
          // It ended before it got the script (nothing was applied): run afresh.
          if (!(e instanceof PreparedExitedError)) throw e;
        }
      }
      return await this.#runner.run(this.#nft, args, { ...opts, ...(stdin === undefined ? {} : { stdin }) });
    } catch (e) {
      if (isAbortError(e)) throw e;
      this.errors++;
      const command = formatCommand(this.#nft, args);
      throw new KernelProgrammingError(
        `cannot run ${command}`,
        { command, exitCode: -1, stderr: '' },
        { cause: e },
      );
    }
  }
}
