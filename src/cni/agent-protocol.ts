/**
 * The framing between the installed `calico` wrapper (a POSIX sh script using socat) and the agent's CNI
 * server on its unix socket. One request per connection; trivial to produce and read from a shell:
 *
 *   request:  KEY=VALUE lines (the CNI_* variables, and the datastore variables the network configuration
 *             may fall back to: `FORWARDED_ENV`; plus CALICO_CNI_CLIENT_NETNS, the client's
 *             `readlink /proc/self/ns/net`), an empty line, then the network configuration (the plugin's
 *             stdin) up to the client's end of stream (it half-closes the connection).
 *   response: the plugin's exit code on the first line, then its stdout bytes exactly; or a first line
 *             `fallback <reason>` when the agent does not serve this invocation (another network namespace,
 *             datastore or node than the agent's, or the agent stopping): the client then runs the
 *             standalone plugin with the same input.
 *
 * Variables whose values span lines cannot be carried (the shell client forwards them line by line). Pure.
 */
import { err, ok, type Result } from '../lib/result.js';
import { MAX_CONFIG_BYTES } from './decode.js';

/** Header naming the client's network namespace (`net:[inode]`); not part of the plugin's environment. */
export const CLIENT_NETNS_KEY = 'CALICO_CNI_CLIENT_NETNS';

const DATASTORE_ENV = [
  'DATASTORE_TYPE',
  'DATASTORE_PATH',
  'ETCD_ENDPOINTS',
  'ETCD_DISCOVERY_SRV',
  'ETCD_USERNAME',
  'ETCD_PASSWORD',
  'ETCD_KEY_FILE',
  'ETCD_CERT_FILE',
  'ETCD_CA_CERT_FILE',
];

/**
 * The environment variables the client forwards when set: the CNI protocol's, and those the network
 * configuration's datastore fields fall back to (netconf.ts: `CALICO_X` over `X`). The plugin reads no
 * others; an IPAM plugin other than calico-ipam, executed by the agent, sees these over the agent's own.
 */
export const FORWARDED_ENV: readonly string[] = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
  ...DATASTORE_ENV.flatMap((v) => [v, `CALICO_${v}`]),
];

/**
 * Requests larger than this are cut off: the largest network configuration a plugin accepts and 1 MiB of
 * variables. The client then runs the standalone plugin, which refuses the oversized stdin (code 6).
 */
export const MAX_REQUEST_BYTES = MAX_CONFIG_BYTES + 1024 * 1024;

export interface AgentRequest {
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
  /** The client's network namespace as `readlink /proc/self/ns/net` prints it, when sent. */
  readonly clientNetns?: string;
}

export type AgentResponse =
  | { readonly kind: 'served'; readonly exitCode: number; readonly stdout: string }
  | { readonly kind: 'fallback'; readonly reason: string };

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Decodes a whole request; an error when the header block is not terminated (a truncated request). */
export function decodeRequest(data: Buffer): Result<AgentRequest, string> {
  const env: Record<string, string> = {};
  let clientNetns: string | undefined;
  let pos = 0;
  for (;;) {
    const eol = data.indexOf(0x0a, pos);
    if (eol < 0) return err('request ends inside its header block');
    const line = data.toString('utf8', pos, eol);
    pos = eol + 1;
    if (line === '') break;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    // Anything but KEY=VALUE is a continuation of a multi-line value: not representable, skipped.
    if (!KEY.test(key)) continue;
    if (key === CLIENT_NETNS_KEY) clientNetns = line.slice(eq + 1);
    else env[key] = line.slice(eq + 1);
  }
  const stdin = data.toString('utf8', pos);
  return ok(clientNetns === undefined ? { env, stdin } : { env, stdin, clientNetns });
}

/** The request bytes a client sends (what the shell wrapper produces; used by tests and other clients). */
export function encodeRequest(req: AgentRequest): Buffer {
  const lines = Object.entries(req.env)
    .filter(([k, v]) => KEY.test(k) && !v.includes('\n'))
    .map(([k, v]) => `${k}=${v}\n`);
  const netns = req.clientNetns === undefined ? '' : `${CLIENT_NETNS_KEY}=${req.clientNetns}\n`;
  return Buffer.from(`${netns}${lines.join('')}\n${req.stdin}`, 'utf8');
}

export function encodeResponse(r: AgentResponse): string {
  switch (r.kind) {
    case 'served':
      return `${r.exitCode}\n${r.stdout}`;
    case 'fallback':
      return `fallback ${r.reason.replace(/\s+/g, ' ')}\n`;
  }
}

export function decodeResponse(text: string): Result<AgentResponse, string> {
  const eol = text.indexOf('\n');
  const first = eol < 0 ? text : text.slice(0, eol);
  const rest = eol < 0 ? '' : text.slice(eol + 1);
  if (/^[0-9]{1,3}$/.test(first)) return ok({ kind: 'served', exitCode: Number(first), stdout: rest });
  if (first.startsWith('fallback')) return ok({ kind: 'fallback', reason: first.slice(8).trim() });
  return err(`not a CNI server response: ${JSON.stringify(first.slice(0, 80))}`);
}

/** Whether the client forwards this variable. */
export function isForwardedVariable(name: string): boolean {
  return FORWARDED_ENV.includes(name);
}
