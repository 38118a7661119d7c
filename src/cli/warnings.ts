/**
 * Keeps one Node deprecation warning off calicoctl's stderr: DEP0123, which Node prints when a TLS
 * connection is given an IP address as server name. The gRPC library under the etcd client always passes
 * the endpoint's host as server name, so every TLS connection to `https://10.0.0.1:2379` would print it,
 * although Node already ignores such a name (RFC 6066 allows host names only). Other warnings pass.
 */
const IP_SERVERNAME_WARNING = 'DEP0123';

type EmitWarning = typeof process.emitWarning;

function warningCode(args: readonly unknown[]): unknown {
  const [, second, third] = args;
  if (typeof second === 'object' && second !== null && 'code' in second) return second.code;
  return third;
}

let installed = false;

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
