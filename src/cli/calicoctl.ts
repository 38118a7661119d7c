#!/usr/bin/env node
/** calicoctl: the command-line interface (composition root). */
import { realpathSync } from 'node:fs';
import { isMainModule } from '../lib/main-module.js';
import type { Command } from './command.js';
import { findCommand, parseCommandArgs } from './command.js';
import { applyCommand } from './commands/apply.js';
import { createCommand } from './commands/create.js';
import { deleteCommand } from './commands/delete.js';
import { getCommand } from './commands/get.js';
import { ipamCommands } from './commands/ipam/index.js';
import { labelCommand } from './commands/label.js';
import { nodeStatusCommand } from './commands/node-status.js';
import { patchCommand } from './commands/patch.js';
import { policyExplainCommand } from './commands/policy-explain.js';
import { replaceCommand } from './commands/replace.js';
import { validateCommand } from './commands/validate.js';
import { versionCommand } from './commands/version.js';
import { CliError, processIo } from './io.js';
import type { CliIo } from './io.js';

export const COMMANDS: readonly Command[] = [
  createCommand,
  replaceCommand,
  applyCommand,
  deleteCommand,
  getCommand,
  patchCommand,
  labelCommand,
  validateCommand,
  policyExplainCommand,
  ...ipamCommands,
  nodeStatusCommand,
  versionCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  const lines = COMMANDS.map((c) => `    ${c.words.join(' ').padEnd(width + 2)}${c.summary}`);
  return `Usage:
  calicoctl [options] <command> [<args>...]

${lines.join('\n')}

Options:
  -h --help                  Show this screen.
  -l --log-level=<level>     Set the log level (one of panic, fatal, error, warn, info, debug) [default: panic]
     --context=<context>     The name of the kubeconfig context to use.
     --allow-version-mismatch  Allow client and cluster versions mismatch.

Description:
  The calico-ts command line tool, compatible with calicoctl.
  See 'calicoctl <command> --help' to read about a specific subcommand.`;
}

export async function runCalicoctl(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
    io.out(`${usage()}\n`);
    return argv.length === 0 ? 1 : 0;
  }
  const found = findCommand(COMMANDS, argv);
  if (found === undefined) {
    io.err(
      `Invalid option: 'calicoctl ${argv.join(' ')}'. Use flag '--help' to read about a specific subcommand.\n`,
    );
    return 1;
  }
  try {
    const { values, positionals } = parseCommandArgs(found.command, found.rest);
    if (values.help === true) {
      io.out(`${found.command.usage}\n`);
      return 0;
    }
    return await found.command.run({ values, positionals, io });
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`${e.message}\n`);
      return e.status;
    }
    io.err(`Failed to execute command: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
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
