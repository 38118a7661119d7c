/**
 * calicoctl's result messages for the resource commands (commands/apply.go, create.go, replace.go,
 * delete.go): "Successfully applied N 'Kind' resource(s)", "Failed to apply any resources: [...]",
 * "Partial success: applied the first N out of M resources:" followed by "Hit error(s): [...]".
 * Success lines go to stdout, failures to stderr; the return value is the exit status.
 */
import type { CliIo } from './io.js';
import type { WriteAction } from './writes.js';

const PAST: Record<WriteAction | 'delete', string> = {
  apply: 'applied',
  create: 'created',
  replace: 'replaced',
  delete: 'deleted',
};

export function pastTense(action: WriteAction | 'delete'): string {
  return PAST[action];
}

/** Go's `%v` of a []error: `[first second]`; identical messages are shown once. */
export function goErrorList(errors: readonly string[]): string {
  return `[${[...new Set(errors)].join(' ')}]`;
}

function errorText(action: WriteAction, errors: readonly string[]): string {
  // replace reports one error value, the others a list (as calicoctl does).
  return action === 'replace' ? [...new Set(errors)].join('; ') : goErrorList(errors);
}

export function reportWrite(
  io: CliIo,
  action: WriteAction,
  total: number,
  errors: readonly string[],
  kind: string | undefined,
): number {
  const handled = total - errors.length;
  const done = PAST[action];
  if (total === 0) {
    io.out('No resources specified\n');
    return 0;
  }
  if (handled === 0) {
    const what =
      total === 1
        ? `'${kind ?? ''}' resource`
        : kind === undefined
          ? 'any resources'
          : `any '${kind}' resources`;
    io.err(`Failed to ${action} ${what}: ${errorText(action, errors)}\n`);
    return 1;
  }
  if (errors.length === 0) {
    io.out(`Successfully ${done} ${handled} ${kind === undefined ? '' : `'${kind}' `}resource(s)\n`);
    return 0;
  }
  const of = kind === undefined ? `${total} resources` : `${total} '${kind}' resources`;
  io.out(`Partial success: ${done} the first ${handled} out of ${of}:\n`);
  io.err(`${action === 'apply' ? 'Hit error(s)' : 'Hit error'}: ${errorText(action, errors)}\n`);
  return 1;
}

/** delete.go: the success count first, then one line per failure. */
export function reportDelete(
  io: CliIo,
  total: number,
  errors: readonly string[],
  kind: string | undefined,
): number {
  const handled = total - errors.length;
  if (total === 0) {
    io.err('No resources specified\n');
    return 1;
  }
  if (handled > 0) {
    io.out(`Successfully deleted ${handled} ${kind === undefined ? '' : `'${kind}' `}resource(s)\n`);
  }
  for (const e of errors) {
    io.err(
      kind === undefined
        ? `Failed to delete resource: ${e}\n`
        : `Failed to delete '${kind}' resource: ${e}\n`,
    );
  }
  return errors.length > 0 ? 1 : 0;
}
