/**
 * The shared body of `create`, `apply` and `replace` (calicoctl's ExecuteConfigCommand for those actions):
 * read and validate every document, connect, check the version, initialise the datastore, plan against
 * what is stored (any problem: write nothing), write, and report in calicoctl's words.
 */
import { CalicoClient } from '../client.js';
import type { OptionValues } from '../command.js';
import { boolOpt } from '../command.js';
import type { CliIo } from '../io.js';
import { pastTense, reportWrite } from '../report.js';
import { readInput, reportProblems, singleKind } from '../resource-input.js';
import { executeWrites, planWrites, type WriteAction } from '../writes.js';

export async function runWrite(action: WriteAction, values: OptionValues, io: CliIo): Promise<number> {
  const input = await readInput(values, io);
  if (input.problems.length > 0) return reportProblems(io, input.problems, input.files, pastTense(action));
  if (input.items.length === 0) return reportWrite(io, action, 0, [], undefined);
  const client = await CalicoClient.open(values, io, { create: true });
  try {
    await client.checkVersion(values);
    await client.ensureInitialized();
    const opts = { skipExists: boolOpt(values, 'skip-exists') };
    const plan = await planWrites(client, input.items, action, opts);
    if (plan.problems.length > 0) return reportProblems(io, plan.problems, input.files, pastTense(action));
    const errors = await executeWrites(client, plan, opts);
    const kind = singleKind(input.items.map((i) => i.documentKind));
    return reportWrite(io, action, input.items.length, errors, kind);
  } finally {
    await client.close();
  }
}
