#!/usr/bin/env node
/**
 * Installs the plugins where a container runtime looks for them: small `calico` and `calico-ipam` shell
 * wrappers in the CNI bin directory (default `/opt/cni/bin`), and optionally a sample `10-calico.conflist`
 * (calico + portmap, as Calico's manifest) in a config directory. Files are written to a temporary name and
 * renamed, so a runtime never runs a half-written one.
 *
 * The `calico` wrapper forwards the invocation to the calico-node agent's CNI socket (`--agent-socket`,
 * default `<run dir>/cni.sock`, baked in; `CALICO_CNI_SOCKET` in the plugin's environment overrides it,
 * set and empty disables forwarding) with socat (framing: agent-protocol.ts) when the socket exists and the
 * agent answers, and otherwise execs this Node with `calico.js`, giving it the same stdin. `calico-ipam`
 * always execs its entry point (other main plugins call it directly).
 *
 * The conflist's datastore fields carry the names of Calico's network configuration
 * (cni-plugin/pkg/types: `etcd_endpoints`, `etcd_discovery_srv`, `etcd_ca_cert_file`, `etcd_cert_file`,
 * `etcd_key_file`; calico-ts's `etcd_username`, `etcd_password`, `datastore_path`), so it needs no editing
 * for a TLS or password-protected etcd; `--run-dir` points `endpoint_status_dir`, `ipam_lock_file` and the
 * socket at the agent's CALICO_RUN_DIR. The sample is checked with the plugin's own configuration parser
 * before anything is written; with an etcd password in it the conflist is 0600 (else 0644).
 *
 *   node dist/src/cni/install.js [--bin-dir DIR] [--conf-dir DIR] [--nodename NAME] [--cni-version V]
 *        [--datastore-path FILE | --etcd-endpoints URLS | --etcd-discovery-srv DOMAIN]
 *        [--etcd-ca-cert-file FILE] [--etcd-cert-file FILE] [--etcd-key-file FILE]
 *        [--etcd-username NAME] [--etcd-password PASSWORD]     (ETCD_PASSWORD when only a name is given)
 *        [--run-dir DIR] [--agent-socket PATH] [--log-file FILE] [--nodename-file FILE] [--mtu-file FILE]
 */
import { accessSync, chmodSync, constants, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { EXECUTABLE_MODE, FILE_MODE, PRIVATE_FILE_MODE, writeFileAtomicSync } from '../sys/files.js';
import { CLIENT_NETNS_KEY, FORWARDED_ENV } from './agent-protocol.js';
import { parseNetConf } from './netconf.js';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_AGENT_SOCKET = '/var/run/calico/cni.sock';
export const CONFLIST_NAME = '10-calico.conflist';

export interface SampleConflistOptions {
  readonly cniVersion?: string;
  readonly nodename?: string;
  readonly datastorePath?: string;
  readonly etcdEndpoints?: string;
  readonly etcdDiscoverySrv?: string;
  readonly etcdCaCertFile?: string;
  readonly etcdCertFile?: string;
  readonly etcdKeyFile?: string;
  readonly etcdUsername?: string;
  readonly etcdPassword?: string;
  readonly logFile?: string;
  /** The agent's CALICO_RUN_DIR: endpoint status, the IPAM lock and the socket live there. */
  readonly runDir?: string;
  readonly ipamLockFile?: string;
  /** The agent's CALICO_NODENAME_FILE / CALICO_MTU_FILE, when not Calico's /var/lib/calico paths. */
  readonly nodenameFile?: string;
  readonly mtuFile?: string;
  readonly policySetupTimeoutSeconds?: number;
  /** Append Calico's stock portmap entry (default true). */
  readonly portmap?: boolean;
}

function etcdFields(o: SampleConflistOptions): Record<string, string> {
  const fields: [string, string | undefined][] = [
    ['etcd_endpoints', o.etcdEndpoints],
    ['etcd_discovery_srv', o.etcdDiscoverySrv],
    ['etcd_ca_cert_file', o.etcdCaCertFile],
    ['etcd_cert_file', o.etcdCertFile],
    ['etcd_key_file', o.etcdKeyFile],
    ['etcd_username', o.etcdUsername],
    ['etcd_password', o.etcdPassword],
  ];
  return Object.fromEntries(fields.filter((f): f is [string, string] => f[1] !== undefined));
}

function usesEtcd(o: SampleConflistOptions): boolean {
  return o.etcdEndpoints !== undefined || o.etcdDiscoverySrv !== undefined;
}

/** Calico's stock conflist shape (reference §7.1), with calico-ts's datastore fields. */
export function sampleConflist(o: SampleConflistOptions = {}): Record<string, unknown> {
  const datastore = usesEtcd(o)
    ? { datastore_type: 'etcdv3', ...etcdFields(o) }
    : { datastore_type: 'embedded', datastore_path: o.datastorePath ?? '/var/lib/calico/calico.db' };
  const ipamLockFile = o.ipamLockFile ?? (o.runDir === undefined ? undefined : join(o.runDir, 'ipam.lock'));
  return {
    name: 'k8s-pod-network',
    cniVersion: o.cniVersion ?? '1.0.0',
    plugins: [
      {
        type: 'calico',
        log_level: 'info',
        log_file_path: o.logFile ?? '/var/log/calico/cni/cni.log',
        ...datastore,
        ...(o.nodename === undefined ? {} : { nodename: o.nodename }),
        ...(o.nodenameFile === undefined ? {} : { nodename_file: o.nodenameFile }),
        mtu: 0,
        ...(o.mtuFile === undefined ? {} : { mtu_file: o.mtuFile }),
        ipam: { type: 'calico-ipam' },
        ...(ipamLockFile === undefined ? {} : { ipam_lock_file: ipamLockFile }),
        policy_setup_timeout_seconds: o.policySetupTimeoutSeconds ?? 30,
        endpoint_status_dir: join(o.runDir ?? '/var/run/calico', 'endpoint-status'),
      },
      ...(o.portmap === false ? [] : [{ type: 'portmap', snat: true, capabilities: { portMappings: true } }]),
    ],
  };
}

/**
 * What is wrong with the options, every problem at once: the datastore choice, TLS files that cannot be
 * read, a client certificate without its key or CA, and whatever the plugin's own parser would refuse.
 */
export function conflistProblems(o: SampleConflistOptions, readable: (path: string) => boolean): string[] {
  const problems: string[] = [];
  const choices = [o.datastorePath, o.etcdEndpoints ?? o.etcdDiscoverySrv].filter((c) => c !== undefined);
  if (choices.length > 1) problems.push('--datastore-path and the etcd options exclude each other');
  if (o.etcdEndpoints !== undefined && o.etcdDiscoverySrv !== undefined)
    problems.push('--etcd-endpoints and --etcd-discovery-srv exclude each other');
  const etcdOnly = Object.keys(etcdFields(o)).filter(
    (k) => k !== 'etcd_endpoints' && k !== 'etcd_discovery_srv',
  );
  if (!usesEtcd(o) && etcdOnly.length > 0) {
    const flags = etcdOnly.map((k) => `--${k.replace(/_/g, '-')}`);
    problems.push(
      `${flags.join(', ')} ${flags.length === 1 ? 'needs' : 'need'} --etcd-endpoints or --etcd-discovery-srv`,
    );
  }
  if ((o.etcdCertFile === undefined) !== (o.etcdKeyFile === undefined))
    problems.push('--etcd-cert-file and --etcd-key-file go together');
  if (o.etcdCertFile !== undefined && o.etcdCaCertFile === undefined)
    problems.push('a client certificate (--etcd-cert-file) needs --etcd-ca-cert-file');
  if (o.etcdPassword !== undefined && o.etcdUsername === undefined)
    problems.push('--etcd-password needs --etcd-username');
  for (const [flag, file] of [
    ['--etcd-ca-cert-file', o.etcdCaCertFile],
    ['--etcd-cert-file', o.etcdCertFile],
    ['--etcd-key-file', o.etcdKeyFile],
  ] as const) {
    if (file !== undefined && !readable(file)) problems.push(`${flag}: cannot read ${file}`);
  }
  const sample = sampleConflist(o);
  const plugin = (sample['plugins'] as Record<string, unknown>[])[0] ?? {};
  const parsed = parseNetConf(
    JSON.stringify({ cniVersion: sample['cniVersion'], name: sample['name'], ...plugin }),
    {},
  );
  if (!parsed.ok) problems.push(`${parsed.error.message}: ${parsed.error.details ?? ''}`);
  return problems;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function wrapperScript(nodePath: string, entry: string): string {
  return `#!/bin/sh\n# calico-ts CNI plugin wrapper (written by install-cni)\nexec ${shellQuote(nodePath)} ${shellQuote(entry)} "$@"\n`;
}

/**
 * The `calico` wrapper: through the agent's socket when it answers with an exit code, else the standalone
 * plugin (also on a `fallback` answer, no answer, or a cut connection: every command is safe to repeat).
 * stdout carries only the plugin's output; socat's complaints go nowhere.
 */
export function forwardingWrapperScript(nodePath: string, entry: string, agentSocket: string): string {
  return `#!/bin/sh
# calico-ts CNI plugin wrapper (written by install-cni): forwards to the calico-node agent's CNI socket when
# it answers, else runs the plugin. CALICO_CNI_SOCKET overrides the socket path; set and empty: never forward.
node=${shellQuote(nodePath)}
entry=${shellQuote(entry)}
default_socket=${shellQuote(agentSocket)}
sock=\${CALICO_CNI_SOCKET-$default_socket}
if [ $# -eq 0 ] && [ -n "$sock" ] && [ -S "$sock" ] && command -v socat >/dev/null 2>&1; then
  if [ -t 0 ]; then conf=''; else conf=$(cat); fi
  nl='
'
  resp=$(
    {
      printf '${CLIENT_NETNS_KEY}=%s\\n' "$(readlink /proc/self/ns/net 2>/dev/null)"
      for v in ${FORWARDED_ENV.join(' ')}; do
        eval "[ -z \\"\\\${$v+set}\\" ] || printf '%s=%s\\\\n' $v \\"\\$$v\\""
      done
      printf '\\n%s' "$conf"
    } | socat -t 600 - "UNIX-CONNECT:$sock" 2>/dev/null
  )
  status=\${resp%%"$nl"*}
  case $status in
    '' | *[!0-9]*) ;;
    *)
      body=\${resp#"$status"}
      body=\${body#"$nl"}
      [ -z "$body" ] || printf '%s\\n' "$body"
      exit "$status"
      ;;
  esac
  exec "$node" "$entry" <<CALICO_CNI_STDIN
$conf
CALICO_CNI_STDIN
fi
exec "$node" "$entry" "$@"
`;
}

export interface InstallOptions extends SampleConflistOptions {
  readonly binDir?: string;
  readonly confDir?: string;
  /** The Node binary the wrappers run (default: this one). */
  readonly nodePath?: string;
  /** Directory holding calico.js and calico-ipam.js (default: this file's directory). */
  readonly distDir?: string;
  /**
   * The agent's CNI socket the `calico` wrapper forwards to (default `<runDir>/cni.sock` with `runDir`,
   * else /var/run/calico/cni.sock); '' never forwards.
   */
  readonly agentSocket?: string;
}

export interface InstallResult {
  readonly plugins: readonly string[];
  /** The files the wrappers run. */
  readonly entries: readonly string[];
  readonly conflist?: string;
}

/** Checks the options (conflistProblems), then installs; a UsageError lists every problem. */
export function installCni(o: InstallOptions = {}): InstallResult {
  const problems = o.confDir === undefined ? [] : conflistProblems(o, isReadable);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const binDir = o.binDir ?? DEFAULT_BIN_DIR;
  const distDir = o.distDir ?? dirname(fileURLToPath(import.meta.url));
  const nodePath = o.nodePath ?? process.execPath;
  const plugins: string[] = [];
  const entries: string[] = [];
  const agentSocket =
    o.agentSocket ?? (o.runDir === undefined ? DEFAULT_AGENT_SOCKET : join(o.runDir, 'cni.sock'));
  for (const name of ['calico', 'calico-ipam'] as const) {
    const entry = resolve(distDir, `${name}.js`);
    entries.push(entry);
    chmodSync(entry, EXECUTABLE_MODE);
    const path = join(binDir, name);
    const script =
      name === 'calico'
        ? forwardingWrapperScript(nodePath, entry, agentSocket)
        : wrapperScript(nodePath, entry);
    writeFileAtomicSync(path, script, { mode: EXECUTABLE_MODE });
    plugins.push(path);
  }
  if (o.confDir === undefined) return { plugins, entries };
  const conflist = join(o.confDir, CONFLIST_NAME);
  // An etcd password in the file: readable by root (the runtime) only.
  const mode = o.etcdPassword === undefined ? FILE_MODE : PRIVATE_FILE_MODE;
  writeFileAtomicSync(conflist, `${JSON.stringify(sampleConflist(o), null, 2)}\n`, { mode });
  return { plugins, entries, conflist };
}

const FLAGS: Readonly<Record<string, keyof InstallOptions>> = {
  '--bin-dir': 'binDir',
  '--conf-dir': 'confDir',
  '--nodename': 'nodename',
  '--datastore-path': 'datastorePath',
  '--etcd-endpoints': 'etcdEndpoints',
  '--etcd-discovery-srv': 'etcdDiscoverySrv',
  '--etcd-ca-cert-file': 'etcdCaCertFile',
  '--etcd-cert-file': 'etcdCertFile',
  '--etcd-key-file': 'etcdKeyFile',
  '--etcd-username': 'etcdUsername',
  '--etcd-password': 'etcdPassword',
  '--log-file': 'logFile',
  '--cni-version': 'cniVersion',
  '--run-dir': 'runDir',
  '--agent-socket': 'agentSocket',
  '--nodename-file': 'nodenameFile',
  '--mtu-file': 'mtuFile',
};

/** The command line; ETCD_PASSWORD from the environment when only `--etcd-username` is given. */
export function parseInstallArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): InstallOptions {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const key = FLAGS[flag];
    const value = eq > 0 && flag !== arg ? arg.slice(eq + 1) : argv[++i];
    if (key === undefined || value === undefined)
      throw new UsageError(
        `usage: install-cni ${Object.keys(FLAGS)
          .map((f) => `[${f} VALUE]`)
          .join(' ')}`,
      );
    out[key] = value;
  }
  const password = env['ETCD_PASSWORD'];
  if (out['etcdUsername'] !== undefined && out['etcdPassword'] === undefined && password !== undefined)
    out['etcdPassword'] = password;
  return out;
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  try {
    const r = installCni(parseInstallArgs(process.argv.slice(2), process.env));
    r.plugins.forEach((p, i) => process.stdout.write(`installed ${p} -> ${r.entries[i] ?? ''}\n`));
    if (r.conflist !== undefined) process.stdout.write(`wrote ${r.conflist}\n`);
  } catch (e) {
    process.stderr.write(`install-cni: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
