/**
 * Test doubles for CommandRunner. FakeCommandRunner answers from scripted rules (the newest matching rule wins;
 * one-shot failures injected with failNext/throwNext take priority) and records every call. A call nothing
 * matches rejects, so a test notices a command it did not expect. RecordingCommandRunner wraps a real runner
 * and records what went through it (used by real-kernel tests to check which transactions were sent).
 */
import { CalicoError } from '../../lib/errors.js';
import {
  formatCommand,
  type CommandRunner,
  type PreparedCommand,
  type PreparedRunOptions,
  type RunOptions,
  type RunResult,
} from './command-runner.js';

export interface RecordedCall {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly stdin: string | undefined;
}

/** Matches a call: every given field must hold (`args` exactly, `argsPrefix` as a prefix). */
export type CallMatcher =
  | {
      readonly cmd?: string;
      readonly args?: readonly string[];
      readonly argsPrefix?: readonly string[];
      readonly stdinIncludes?: string;
    }
  | ((call: RecordedCall) => boolean);

export interface FakeReply {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly code?: number;
}

export type FakeResponse = FakeReply | ((call: RecordedCall) => FakeReply | Promise<FakeReply>);

interface Rule {
  readonly matcher: CallMatcher;
  readonly respond: (call: RecordedCall) => Promise<RunResult>;
  remaining: number;
}

function prefixEquals(actual: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= actual.length && prefix.every((a, i) => actual[i] === a);
}

function callMatches(matcher: CallMatcher, call: RecordedCall): boolean {
  if (typeof matcher === 'function') return matcher(call);
  if (matcher.cmd !== undefined && matcher.cmd !== call.cmd) return false;
  if (
    matcher.args !== undefined &&
    (matcher.args.length !== call.args.length || !prefixEquals(call.args, matcher.args))
  )
    return false;
  if (matcher.argsPrefix !== undefined && !prefixEquals(call.args, matcher.argsPrefix)) return false;
  if (matcher.stdinIncludes !== undefined && !(call.stdin ?? '').includes(matcher.stdinIncludes))
    return false;
  return true;
}

function toResult(reply: FakeReply): RunResult {
  return { stdout: reply.stdout ?? '', stderr: reply.stderr ?? '', code: reply.code ?? 0 };
}

export class FakeCommandRunner implements CommandRunner {
  readonly #calls: RecordedCall[] = [];
  readonly #rules: Rule[] = [];
  readonly #oneShots: Rule[] = [];

  /** Every call so far, oldest first. */
  get calls(): readonly RecordedCall[] {
    return this.#calls;
  }

  /** The calls that match `matcher`. */
  callsMatching(matcher: CallMatcher): readonly RecordedCall[] {
    return this.#calls.filter((c) => callMatches(matcher, c));
  }

  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** Answers every matching call (until overridden by a newer rule) with `response`. */
  on(matcher: CallMatcher, response: FakeResponse): this {
    this.#rules.push({ matcher, respond: this.#responder(response), remaining: Infinity });
    return this;
  }

  /** The next `times` matching calls exit with a failure (default code 1) instead of their normal answer. */
  failNext(matcher: CallMatcher, reply: FakeReply = {}, options: { readonly times?: number } = {}): this {
    const failure = { code: 1, stderr: 'injected failure', ...reply };
    this.#oneShots.push({ matcher, respond: this.#responder(failure), remaining: options.times ?? 1 });
    return this;
  }

  /** The next matching call rejects with `error`, as a spawn failure would. */
  throwNext(matcher: CallMatcher, error: Error): this {
    this.#oneShots.push({ matcher, respond: () => Promise.reject(error), remaining: 1 });
    return this;
  }

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    opts.signal?.throwIfAborted();
    const call: RecordedCall = { cmd, args: [...args], stdin: opts.stdin };
    this.#calls.push(call);
    const rule = this.#take(call);
    if (rule === undefined) {
      throw new CalicoError(
        'CALICO_ERR_IO',
        `FakeCommandRunner: no scripted answer for ${formatCommand(cmd, args)}`,
      );
    }
    const result = await rule.respond(call);
    opts.signal?.throwIfAborted();
    return result;
  }

  /** Commands prepared so far. */
  prepared = 0;

  /** A prepared command is a call like any other, answered (and recorded) when it is given its input. */
  prepare(cmd: string, args: readonly string[]): PreparedCommand {
    this.prepared++;
    let waiting = true;
    return {
      get alive() {
        return waiting;
      },
      run: (stdin: string, opts: PreparedRunOptions = {}) => {
        waiting = false;
        return this.run(cmd, args, { ...opts, stdin });
      },
      dispose: () => {
        waiting = false;
      },
    };
  }

  #take(call: RecordedCall): Rule | undefined {
    const shot = this.#oneShots.findIndex((r) => callMatches(r.matcher, call));
    if (shot >= 0) {
      const rule = this.#oneShots[shot]!;
      rule.remaining--;
      if (rule.remaining <= 0) this.#oneShots.splice(shot, 1);
      return rule;
    }
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      const rule = this.#rules[i]!;
      if (callMatches(rule.matcher, call)) return rule;
    }
    return undefined;
  }

  #responder(response: FakeResponse): (call: RecordedCall) => Promise<RunResult> {
    return async (call) => toResult(typeof response === 'function' ? await response(call) : response);
  }
}

export interface RecordedRun extends RecordedCall {
  /** The result, or undefined when the run rejected. */
  readonly result: RunResult | undefined;
}

/** Passes every call to `base` and records it with its result (a prepared command's when it is run). */
export class RecordingCommandRunner implements CommandRunner {
  readonly #base: CommandRunner;
  readonly #runs: RecordedRun[] = [];
  readonly prepare?: (cmd: string, args: readonly string[]) => PreparedCommand;

  constructor(base: CommandRunner) {
    this.#base = base;
    const prepare = base.prepare?.bind(base);
    if (prepare === undefined) return;
    this.prepare = (cmd, args) => {
      const p = prepare(cmd, args);
      return {
        get alive() {
          return p.alive;
        },
        run: (stdin, opts) => this.#record(cmd, args, stdin, () => p.run(stdin, opts)),
        dispose: () => {
          p.dispose();
        },
      };
    };
  }

  get runs(): readonly RecordedRun[] {
    return this.#runs;
  }

  clear(): void {
    this.#runs.length = 0;
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.#record(cmd, args, opts.stdin, () => this.#base.run(cmd, args, opts));
  }

  async #record(
    cmd: string,
    args: readonly string[],
    stdin: string | undefined,
    run: () => Promise<RunResult>,
  ): Promise<RunResult> {
    const call = { cmd, args: [...args], stdin };
    try {
      const result = await run();
      this.#runs.push({ ...call, result });
      return result;
    } catch (e) {
      this.#runs.push({ ...call, result: undefined });
      throw e;
    }
  }
}
