/**
 * calicoctl's namespace rules (`handleNamespace` in calicoctl's common/resources.go), applied to every
 * resource a command handles, whether it came from a file or from KIND NAME arguments:
 * - namespaced kinds take the document's namespace, else `-n`, else `default`; a document namespace that
 *   differs from `-n` is an error; `-A` means "every namespace" (lists only);
 * - cluster-scoped kinds take no namespace, and `-n`/`-A` with them is an error.
 */
import { err, ok, type Result } from '../lib/result.js';
import type { NamespaceFlags } from './options.js';

export const DEFAULT_NAMESPACE = 'default';

/**
 * The namespace to use: a name, or undefined for cluster-scoped kinds and for `-A` (all namespaces).
 * `kind` is the document kind, as Calico names it in these messages.
 */
export function resolveNamespace(
  kind: string,
  namespaced: boolean,
  documentNamespace: string | undefined,
  flags: NamespaceFlags,
): Result<string | undefined, string> {
  const cli = flags.namespace;
  const doc = documentNamespace === '' ? undefined : documentNamespace;
  if (!namespaced) {
    if (doc !== undefined) {
      return err(
        `namespace should not be specified for a non-namespaced resource. ${kind} is not a namespaced resource`,
      );
    }
    if (flags.allNamespaces || cli !== undefined) return err(`${kind} is not namespaced`);
    return ok(undefined);
  }
  if (flags.allNamespaces && cli !== undefined) {
    return err('cannot use both --namespace and --all-namespaces flags at the same time');
  }
  if (flags.allNamespaces) return ok(undefined);
  if (doc === undefined) return ok(cli ?? DEFAULT_NAMESPACE);
  if (cli !== undefined && cli !== doc) {
    return err(`resource namespace does not match client namespace. ${doc} != ${cli}`);
  }
  return ok(doc);
}
