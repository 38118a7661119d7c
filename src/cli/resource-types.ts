/** The KIND argument of get/delete/label/patch: any spelling calicoctl accepts, or a "did you mean" error. */
import { lookupKind, suggestKindName, type KindInfo } from '../api/kinds.js';
import { MAX_ECHO_CHARS, truncateText } from '../api/limits.js';
import { CliError } from './io.js';

/** calicoctl's "resource type 'x' is not supported", plus the name a typo probably meant. */
export function unsupportedKind(kindArg: string): string {
  const hint = suggestKindName(kindArg);
  const typed = truncateText(kindArg, MAX_ECHO_CHARS);
  return `resource type '${typed}' is not supported${hint === undefined ? '' : `; did you mean '${hint}'?`}`;
}

/** The kind named by a command-line argument; throws CliError (with `prefix`) when there is none. */
export function kindArgument(kindArg: string, prefix = ''): KindInfo {
  const info = lookupKind(kindArg);
  if (info === undefined) throw new CliError(`${prefix}${unsupportedKind(kindArg)}`);
  return info;
}
