/**
 * Keeps one Node deprecation warning out of the programs' output: DEP0123, which Node prints when a TLS
 * connection is given an IP address as server name. The gRPC library under the etcd client always passes
 * the endpoint's host as server name, so every TLS connection to `https://10.0.0.1:2379` would print it,
 * although Node already ignores such a name (RFC 6066 allows host names only). In calico-node it would be
 * a line that is not JSON in the log stream; in calicoctl and the CNI plugins, noise on stderr. Every
 * entry point that may talk to etcd (calico-node, calicoctl, `calico`, `calico-ipam`) installs this filter
 * first. Other warnings pass.
 */
export const IP_SERVERNAME_WARNING = 'DEP0123';

type EmitWarning = typeof process.emitWarning;

function warningCode(args: readonly unknown[]): unknown {
  const [first, second, third] = args;
  if (typeof second === 'object' && second !== null && 'code' in second) return second.code;
  if (third !== undefined) return third;
  // process.emitWarning(error): the code is the Error's own.
  if (first instanceof Error && 'code' in first) return first.code;
  return undefined;
}

let installed = false;

/** Installs the filter (once per process; later calls do nothing). */
export function suppressIpServernameWarning(): void {
  if (installed) return;
  installed = true;
  const original = process.emitWarning.bind(process);
  const filtered = (...args: Parameters<EmitWarning>): void => {
    if (warningCode(args) === IP_SERVERNAME_WARNING) return;
    original(...args);
  };
  process.emitWarning = filtered as EmitWarning;
}
