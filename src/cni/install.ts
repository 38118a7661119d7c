#!/usr/bin/env node
/**
 * Installs the plugins where a container runtime looks for them: small `calico` and `calico-ipam` shell
 * wrappers in the CNI bin directory (default `/opt/cni/bin`), and optionally a sample `10-calico.conflist`
 * (calico + portmap, as Calico's manifest) in a config directory. Files are written to a temporary name and
 * renamed, so a runtime never runs a half-written one.
 *
 * The `calico` wrapper forwards the invocation to the calico-node agent's CNI socket (`--agent-socket`,
 * default `/var/run/calico/cni.sock`, baked in; `CALICO_CNI_SOCKET` in the plugin's environment overrides it,
 * set and empty disables forwarding) with socat (framing: agent-protocol.ts) when the socket exists and the
 * agent answers, and otherwise execs this Node with `calico.js`, giving it the same stdin. `calico-ipam`
 * always execs its entry point (other main plugins call it directly).
 *
 *   node dist/src/cni/install.js [--bin-dir DIR] [--conf-dir DIR] [--nodename NAME]
 *        [--datastore-path FILE | --etcd-endpoints URLS] [--log-file FILE] [--cni-version V]
 *        [--agent-socket PATH]
 */
import { chmodSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainModule } from '../lib/main-module.js';
import { EXECUTABLE_MODE, FILE_MODE, writeFileAtomicSync } from '../sys/files.js';
import { CLIENT_NETNS_KEY, FORWARDED_ENV } from './agent-protocol.js';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_AGENT_SOCKET = '/var/run/calico/cni.sock';
export const CONFLIST_NAME = '10-calico.conflist';

export interface SampleConflistOptions {
  readonly cniVersion?: string;
  readonly nodename?: string;
  readonly datastorePath?: string;
  readonly etcdEndpoints?: string;
  readonly logFile?: string;
  /** Per-node paths when several nodes share one machine (the lab): the agent's CALICO_RUN_DIR. */
  readonly runDir?: string;
  readonly ipamLockFile?: string;
  readonly policySetupTimeoutSeconds?: number;
  /** Append Calico's stock portmap entry (default true). */
  readonly portmap?: boolean;
}

/** Calico's stock conflist shape (reference §7.1), with calico-ts's datastore fields. */
export function sampleConflist(o: SampleConflistOptions = {}): Record<string, unknown> {
  const datastore =
    o.etcdEndpoints === undefined
      ? { datastore_type: 'embedded', datastore_path: o.datastorePath ?? '/var/lib/calico/calico.db' }
      : { datastore_type: 'etcdv3', etcd_endpoints: o.etcdEndpoints };
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
        mtu: 0,
        ipam: { type: 'calico-ipam' },
        ...(o.ipamLockFile === undefined ? {} : { ipam_lock_file: o.ipamLockFile }),
        policy_setup_timeout_seconds: o.policySetupTimeoutSeconds ?? 30,
        endpoint_status_dir: join(o.runDir ?? '/var/run/calico', 'endpoint-status'),
      },
      ...(o.portmap === false ? [] : [{ type: 'portmap', snat: true, capabilities: { portMappings: true } }]),
    ],
  };
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

export function installCni(o: InstallOptions = {}): InstallResult {
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
  writeFileAtomicSync(conflist, `${JSON.stringify(sampleConflist(o), null, 2)}\n`, { mode: FILE_MODE });
  return { plugins, entries, conflist };
}

function parseArgs(argv: readonly string[]): InstallOptions {
  const flags: Record<string, keyof InstallOptions> = {
    '--bin-dir': 'binDir',
    '--conf-dir': 'confDir',
    '--nodename': 'nodename',
    '--datastore-path': 'datastorePath',
    '--etcd-endpoints': 'etcdEndpoints',
    '--log-file': 'logFile',
    '--cni-version': 'cniVersion',
    '--agent-socket': 'agentSocket',
  };
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i] ?? ''];
    const value = argv[i + 1];
    if (key === undefined || value === undefined)
      throw new Error(
        `usage: install-cni ${Object.keys(flags)
          .map((f) => `[${f} VALUE]`)
          .join(' ')}`,
      );
    out[key] = value;
    i++;
  }
  return out;
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  try {
    const r = installCni(parseArgs(process.argv.slice(2)));
    r.plugins.forEach((p, i) => process.stdout.write(`installed ${p} -> ${r.entries[i] ?? ''}\n`));
    if (r.conflist !== undefined) process.stdout.write(`wrote ${r.conflist}\n`);
  } catch (e) {
    process.stderr.write(`install-cni: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
