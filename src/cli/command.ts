/**
 * The command table: each command declares its words (`validate`, `policy explain`), its options in
 * util.parseArgs form, its usage text and a `run`. Parsing is strict: an unknown flag is calicoctl's
 * "Invalid option" (InvalidOptionError).
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { InvalidOptionError } from './io.js';
import type { CliIo } from './io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  /** The words that select the command, e.g. ['policy', 'explain']. */
  readonly words: readonly string[];
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  run(args: { values: OptionValues; positionals: string[]; io: CliIo }): Promise<number>;
}

/** Options every command accepts (calicoctl's global flags). */
export const GLOBAL_OPTIONS: OptionSpec = {
  'log-level': { type: 'string', short: 'l' },
  'allow-version-mismatch': { type: 'boolean' },
  context: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function findCommand(
  commands: readonly Command[],
  argv: readonly string[],
): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.words.every((w, i) => argv[i] === w) && (best === undefined || c.words.length > best.words.length))
      best = c;
  }
  return best === undefined ? undefined : { command: best, rest: argv.slice(best.words.length) };
}

export function parseCommandArgs(
  command: Command,
  rest: string[],
): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values, positionals };
  } catch (e) {
    throw new InvalidOptionError(e instanceof Error ? e.message : String(e));
  }
}

export function stringOpt(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) {
    const last = v.at(-1);
    return typeof last === 'string' ? last : undefined;
  }
  return typeof v === 'string' ? v : undefined;
}

export function stringsOpt(values: OptionValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function boolOpt(values: OptionValues, name: string): boolean {
  return values[name] === true;
}
