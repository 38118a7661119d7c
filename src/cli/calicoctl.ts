#!/usr/bin/env node
/** calicoctl: the command-line interface (composition root). */
import { realpathSync } from 'node:fs';
import { DatastoreUnavailableError } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { boundedIo } from './bounded-io.js';
import type { Command } from './command.js';
import { findCommand, parseCommandArgs } from './command.js';
import { applyCommand } from './commands/apply.js';
import { createCommand } from './commands/create.js';
import { deleteCommand } from './commands/delete.js';
import { flowsCommand } from './commands/flows.js';
import { getCommand } from './commands/get.js';
import { ipamCommands } from './commands/ipam/index.js';
import { labelCommand } from './commands/label.js';
import { nodeStatusCommand } from './commands/node-status.js';
import { patchCommand } from './commands/patch.js';
import { policyExplainCommand } from './commands/policy-explain.js';
import { replaceCommand } from './commands/replace.js';
import { validateCommand } from './commands/validate.js';
import { versionCommand } from './commands/version.js';
import { unavailableMessage } from './datastore-errors.js';
import { logLevelProblem, parseGlobalOptions } from './global-options.js';
import { CliError, ignoreClosedStdout, InvalidOptionError, invalidOptionLine, processIo } from './io.js';
import type { CliIo } from './io.js';
import { suppressIpServernameWarning } from '../lib/warnings.js';

export const COMMANDS: readonly Command[] = [
  createCommand,
  replaceCommand,
  applyCommand,
  patchCommand,
  deleteCommand,
  getCommand,
  labelCommand,
  validateCommand,
  ...ipamCommands,
  nodeStatusCommand,
  policyExplainCommand,
  flowsCommand,
  versionCommand,
];

/** Commands of two words are grouped under their first word (`calicoctl ipam --help`). */
const GROUPS: Readonly<Record<string, { readonly summary: string; readonly description: string }>> = {
  ipam: {
    summary: 'IP address management.',
    description: 'IP address management commands for Calico.',
  },
  node: {
    summary: 'Calico node management.',
    description:
      'Node specific commands for calicoctl.  These commands must be run directly on\n' +
      '  the compute host running the Calico node instance.',
  },
  policy: {
    summary: 'Policy what-if: explain the verdict on a connection (calico-ts).',
    description:
      'Policy commands of calico-ts (not in Calico): decide a connection with the reference\n' +
      '  evaluator, against files or the live datastore, and show what decided it.',
  },
};

function table(entries: readonly (readonly [string, string])[]): string {
  const width = Math.max(...entries.map(([w]) => w.length));
  return entries.map(([w, s]) => `    ${w.padEnd(width + 2)}${s}`).join('\n');
}

function usage(): string {
  const seen = new Set<string>();
  const entries: [string, string][] = [];
  for (const c of COMMANDS) {
    const word = c.words[0] ?? '';
    if (seen.has(word)) continue;
    seen.add(word);
    entries.push([word, c.words.length > 1 ? (GROUPS[word]?.summary ?? '') : c.summary]);
  }
  return `Usage:
  calicoctl [options] <command> [<args>...]

${table(entries)}

Options:
  -h --help                    Show this screen.
  -l --log-level=<level>       Set the log level (one of panic, fatal, error,
                               warn, info, debug) [default: panic]
     --context=<context>       The name of the kubeconfig context to use.
     --allow-version-mismatch  Allow client and cluster versions mismatch.

Description:
  The calico-ts command line tool, compatible with calicoctl: it manages Calico
  network and security policy, endpoint configuration and IP address management.

  See 'calicoctl <command> --help' to read about a specific subcommand.`;
}

function groupUsage(word: string): string {
  const group = GROUPS[word];
  const members = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === word);
  return `Usage:
  calicoctl ${word} <command> [<args>...]

${table(members.map((c) => [c.words.slice(1).join(' '), c.summary]))}

Options:
  -h --help      Show this screen.

Description:
  ${group?.description ?? ''}

  See 'calicoctl ${word} <command> --help' to read about a specific subcommand.`;
}

const isHelp = (arg: string | undefined): boolean => arg === '-h' || arg === '--help';

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const { options, rest } = parseGlobalOptions(argv);
  if (options.logLevel !== undefined) {
    const problem = logLevelProblem(options.logLevel);
    if (problem !== undefined) throw new CliError(problem);
  }
  if (options.help || isHelp(rest[0])) {
    io.out(`${usage()}\n`);
    return 0;
  }
  const first = rest[0];
  if (first === undefined) {
    io.err(`${usage()}\n`);
    return 1;
  }
  const found = findCommand(COMMANDS, rest);
  if (found === undefined) {
    if (GROUPS[first] !== undefined && (rest.length === 1 || isHelp(rest[1]))) {
      if (rest.length === 1) io.err(`${groupUsage(first)}\n`);
      else io.out(`${groupUsage(first)}\n`);
      return rest.length === 1 ? 1 : 0;
    }
    throw new InvalidOptionError(`unknown command ${first}`);
  }
  const args = options.allowVersionMismatch ? [...found.rest, '--allow-version-mismatch'] : found.rest;
  const { values, positionals } = parseCommandArgs(found.command, args);
  if (values['help'] === true) {
    io.out(`${found.command.usage}\n`);
    return 0;
  }
  return found.command.run({ values, positionals, io });
}

/** The words Calico's "Invalid option" line quotes: the arguments after the top-level options. */
function commandWords(argv: readonly string[]): readonly string[] {
  try {
    return parseGlobalOptions(argv).rest;
  } catch {
    return argv;
  }
}

export async function runCalicoctl(argv: readonly string[], rawIo: CliIo): Promise<number> {
  const io = boundedIo(rawIo);
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof InvalidOptionError) {
      io.err(`${invalidOptionLine(commandWords(argv))}\n`);
      return e.status;
    }
    if (e instanceof CliError) {
      io.err(`${e.message}\n`);
      return e.status;
    }
    if (e instanceof DatastoreUnavailableError) {
      io.err(`Failed to execute command: ${unavailableMessage(e)}\n`);
      return 1;
    }
    io.err(`Failed to execute command: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  suppressIpServernameWarning();
  ignoreClosedStdout();
  runCalicoctl(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`Failed to execute command: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
