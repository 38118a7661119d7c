/**
 * The two things NftTable asks of the `nft` binary: run a script as one transaction (`nft -f -`, stdin) and
 * list our table as JSON (`nft -j -p list table inet calico`, protocols numeric). Counts calls and failures.
 * A failed run that started is not an exception here (its stderr is returned); nft that cannot be started is a
 * KernelProgrammingError; abort and timeout propagate unchanged.
 */
import { KernelProgrammingError, isAbortError } from '../../lib/errors.js';
import { formatCommand, type CommandRunner, type RunResult } from '../exec/command-runner.js';
import { emptyKernelState, listsTable, parseNftJson, type KernelState } from './kernel-state.js';
import { NFT_FAMILY, NFT_TABLE } from '../rules/names.js';

export interface NftCliOptions {
  readonly runner: CommandRunner;
  readonly nft: string;
  readonly timeoutMs: number;
}

const LIST_ARGS = ['-j', '-p', 'list', 'table', NFT_FAMILY, NFT_TABLE] as const;

export class NftCli {
  readonly #runner: CommandRunner;
  readonly #nft: string;
  readonly #timeoutMs: number;
  calls = 0;
  errors = 0;

  constructor(options: NftCliOptions) {
    this.#runner = options.runner;
    this.#nft = options.nft;
    this.#timeoutMs = options.timeoutMs;
  }

  /** How transactions are run, for error reports. */
  get transactionCommand(): string {
    return formatCommand(this.#nft, ['-f', '-']);
  }

  /** Runs `script` as one transaction: undefined when nft accepted it, else nft's complaint. */
  async transaction(script: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const r = await this.#run(['-f', '-'], script, signal);
    if (r.code === 0) return undefined;
    this.errors++;
    return r.stderr.trim() || `exit code ${r.code}`;
  }

  /** What the kernel holds in our table (an empty state when the table does not exist). */
  async listTable(signal: AbortSignal | undefined): Promise<KernelState> {
    const r = await this.#run(LIST_ARGS, undefined, signal);
    if (r.code === 0) {
      const parsed = parseNftJson(r.stdout);
      if (parsed.ok) return parsed.value;
      throw this.#failure(`nftables: ${parsed.error}`, LIST_ARGS, r);
    }
    // Most likely the table does not exist yet (first start); check rather than parse nft's message.
    const tables = await this.#run(['-j', 'list', 'tables', NFT_FAMILY], undefined, signal);
    const listed = tables.code === 0 ? listsTable(tables.stdout, NFT_FAMILY, NFT_TABLE) : undefined;
    if (listed?.ok === true && !listed.value) return emptyKernelState();
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
  ): Promise<RunResult> {
    this.calls++;
    try {
      return await this.#runner.run(this.#nft, args, {
        ...(stdin === undefined ? {} : { stdin }),
        ...(signal === undefined ? {} : { signal }),
        timeoutMs: this.#timeoutMs,
      });
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
