/**
 * calicoctl's top-level options, which come before the command (`calicoctl -l debug get gnp`, docopt's
 * options-first parsing): `-h/--help`, `-l/--log-level`, `--context`, `--allow-version-mismatch`. Long
 * options may be shortened to an unambiguous prefix, as docopt allows. `--allow-version-mismatch` is passed
 * on to the command, as calicoctl appends it to the command's arguments.
 */
import { InvalidOptionError } from './io.js';

export interface GlobalOptions {
  readonly help: boolean;
  readonly logLevel: string | undefined;
  readonly context: string | undefined;
  readonly allowVersionMismatch: boolean;
}

export interface GlobalParse {
  readonly options: GlobalOptions;
  /** The command and its arguments (everything from the first word that is not a top-level option). */
  readonly rest: readonly string[];
}

/** The levels logrus parses (calicoctl's usage lists the first six). */
const LOG_LEVELS = ['panic', 'fatal', 'error', 'warn', 'warning', 'info', 'debug', 'trace'];

export function logLevelProblem(level: string): string | undefined {
  return LOG_LEVELS.includes(level.toLowerCase())
    ? undefined
    : `Unknown log level: ${level}, expected one of: \npanic, fatal, error, warn, info, debug.`;
}

type LongName = 'help' | 'log-level' | 'context' | 'allow-version-mismatch';
const LONG: readonly LongName[] = ['help', 'log-level', 'context', 'allow-version-mismatch'];
const TAKES_VALUE = new Set<LongName>(['log-level', 'context']);

function longName(typed: string): LongName {
  const exact = LONG.find((n) => n === typed);
  if (exact !== undefined) return exact;
  const matches = LONG.filter((n) => n.startsWith(typed));
  const only = matches[0];
  if (typed === '' || matches.length !== 1 || only === undefined) {
    throw new InvalidOptionError(`--${typed} is not recognized`);
  }
  return only;
}

export function parseGlobalOptions(argv: readonly string[]): GlobalParse {
  let help = false;
  let logLevel: string | undefined;
  let context: string | undefined;
  let allowVersionMismatch = false;
  let i = 0;
  const value = (name: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const next = argv[++i];
    if (next === undefined) throw new InvalidOptionError(`${name} requires argument`);
    return next;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    let name: LongName;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = longName(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (inline !== undefined && !TAKES_VALUE.has(name)) {
        throw new InvalidOptionError(`--${name} must not have an argument`);
      }
    } else if (arg === '-h') {
      name = 'help';
    } else if (arg.startsWith('-l')) {
      name = 'log-level';
      inline = arg.length > 2 ? arg.slice(2) : undefined;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new InvalidOptionError(`${arg} is not recognized`);
    } else {
      break;
    }
    switch (name) {
      case 'help':
        help = true;
        break;
      case 'log-level':
        logLevel = value('--log-level', inline);
        break;
      case 'context':
        context = value('--context', inline);
        break;
      case 'allow-version-mismatch':
        allowVersionMismatch = true;
        break;
    }
  }
  return { options: { help, logLevel, context, allowVersionMismatch }, rest: argv.slice(i) };
}
