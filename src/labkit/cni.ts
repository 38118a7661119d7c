/**
 * Lab pods through the real CNI plugins (src/cni): the lab installs `calico` and `calico-ipam` into its run
 * dir with the install command (`dist/src/cni/install.js --bin-dir`), then, as a container runtime on the
 * node would, runs `calico` inside the node's namespace with the CNI_* variables and a network configuration
 * on stdin (calico-ipam, the lab's datastore, the node's endpoint-status directory, the mode's MTU). The
 * plugin does IPAM, the veth, the WorkloadEndpoint and the wait for the agent; the lab only reads the result.
 *
 * A fixed address is asked for the way Calico users do: the pod's `cni.projectcalico.org/ipAddrs`
 * annotation (the plugin hands it to calico-ipam as `IP=` in CNI_ARGS).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { labDatastore } from './datastore.js';
import { runChecked } from './netns.js';
import { repoRoot } from './paths.js';
import type { LabState, NodeRecord } from './state.js';
import { podMtu } from './topology.js';

export const CNI_VERSION = '1.0.0';
export const CNI_NETWORK_NAME = 'k8s-pod-network';
export const IP_ADDRS_ANNOTATION = 'cni.projectcalico.org/ipAddrs';

type Signal = { readonly signal?: AbortSignal };

export function cniDistDir(): string {
  return join(repoRoot(), 'dist', 'src', 'cni');
}

/** Why pods cannot go through the CNI plugins here (not built), or false. */
export function cniUnavailableReason(): string | false {
  const dir = cniDistDir();
  for (const f of ['calico.js', 'calico-ipam.js', 'install.js'])
    if (!existsSync(join(dir, f))) return `${join(dir, f)} is missing (npm run build)`;
  return false;
}

/** Installs the plugins into `<run dir>/cni/bin` (idempotent); returns the directory. */
export async function installLabCni(
  runner: CommandRunner,
  runDir: string,
  options: Signal = {},
): Promise<string> {
  const why = cniUnavailableReason();
  if (why !== false) throw new CalicoError('CALICO_ERR_USAGE', `CNI plugins unavailable: ${why}`);
  const binDir = join(runDir, 'cni', 'bin');
  await runChecked(
    runner,
    process.execPath,
    [join(cniDistDir(), 'install.js'), '--bin-dir', binDir],
    options,
  );
  for (const p of ['calico', 'calico-ipam'])
    if (!existsSync(join(binDir, p)))
      throw new CalicoError('CALICO_ERR_IO', `install-cni did not write ${join(binDir, p)}`);
  return binDir;
}

/**
 * The `calico` network configuration for a pod on `node` (what a conflist entry would hold), the datastore
 * given by its netconf fields (`datastore_type` and what it needs).
 */
export function calicoNetconf(
  node: Pick<NodeRecord, 'name' | 'runDir'>,
  datastore: Record<string, unknown>,
  options: { readonly mtu: number; readonly policySetupTimeoutSeconds?: number },
): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: CNI_NETWORK_NAME,
    type: 'calico',
    log_level: 'info',
    log_file_path: join(node.runDir, 'cni.log'),
    ...datastore,
    nodename: node.name,
    mtu: options.mtu,
    ipam: { type: 'calico-ipam', assign_ipv4: 'true' },
    ipam_lock_file: join(node.runDir, 'ipam.lock'),
    policy_setup_timeout_seconds: options.policySetupTimeoutSeconds ?? 30,
    endpoint_status_dir: join(node.runDir, 'endpoint-status'),
  };
}

/** The lab's `calico` network configuration for a pod on `node`: the lab's own datastore. */
export function labNetconf(
  state: LabState,
  node: Pick<NodeRecord, 'name' | 'runDir'>,
): Record<string, unknown> {
  return calicoNetconf(node, labCniDatastore(state), { mtu: podMtu(state.network ?? 'static') });
}

/** The datastore part of the lab's `calico` network configuration. */
export function labCniDatastore(
  state: Pick<LabState, 'datastore' | 'datastorePath'>,
): Record<string, unknown> {
  const ds = labDatastore(state);
  switch (ds.type) {
    case 'embedded':
      return { datastore_type: 'embedded', datastore_path: state.datastorePath };
    case 'etcdv3':
      return { datastore_type: 'etcdv3', etcd_endpoints: ds.endpoint };
    case 'kubernetes':
      return { datastore_type: 'kubernetes', kubernetes: { kubeconfig: ds.kubeconfig } };
  }
}

export interface CniAttachment {
  readonly binDir: string;
  readonly nodeNs: string;
  readonly podNs: string;
  readonly containerId: string;
  readonly namespace: string;
  readonly name: string;
  readonly netconf: Record<string, unknown>;
  /** The node agent's run dir: its CNI socket, if it serves one, is the only one this node may use. */
  readonly nodeRunDir: string;
  /** The Kubernetes Pod's uid (kubelet passes it as K8S_POD_UID), when there is a Pod object. */
  readonly podUid?: string;
}

function cniEnv(command: 'ADD' | 'DEL', a: CniAttachment): string[] {
  return [
    `CNI_COMMAND=${command}`,
    `CNI_CONTAINERID=${a.containerId}`,
    `CNI_NETNS=/var/run/netns/${a.podNs}`,
    'CNI_IFNAME=eth0',
    `CNI_PATH=${a.binDir}`,
    // Never the host's default socket (/var/run/calico/cni.sock): that would be another node's agent.
    `CALICO_CNI_SOCKET=${join(a.nodeRunDir, 'cni.sock')}`,
    `CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=${a.namespace};K8S_POD_NAME=${a.name};K8S_POD_INFRA_CONTAINER_ID=${a.containerId}` +
      (a.podUid === undefined ? '' : `;K8S_POD_UID=${a.podUid}`),
  ];
}

async function runPlugin(
  runner: CommandRunner,
  command: 'ADD' | 'DEL',
  a: CniAttachment,
  options: Signal,
): Promise<string> {
  const r = await runner.run(
    'ip',
    ['netns', 'exec', a.nodeNs, 'env', ...cniEnv(command, a), join(a.binDir, 'calico')],
    { stdin: JSON.stringify(a.netconf), timeoutMs: 90_000, ...options },
  );
  if (r.code !== 0) {
    let msg = r.stdout.trim() || r.stderr.trim();
    try {
      const e = JSON.parse(r.stdout) as { msg?: unknown; details?: unknown; code?: unknown };
      msg = `code ${String(e.code)}: ${String(e.msg)}${e.details !== undefined ? ` (${JSON.stringify(e.details)})` : ''}`;
    } catch {
      // Not a CNI error object: the raw output says more.
    }
    throw new CalicoError('CALICO_ERR_IO', `CNI ${command} ${a.namespace}/${a.name} failed: ${msg}`);
  }
  return r.stdout;
}

/** The pod's address and MAC from a CNI 1.0.0 result. */
export function parseCniResult(stdout: string): { ip: string; mac?: string } {
  let x: unknown;
  try {
    x = JSON.parse(stdout);
  } catch (e) {
    throw new CalicoError('CALICO_ERR_PARSE', `CNI result is not JSON: ${errorMessage(e)}`);
  }
  const r = x as {
    ips?: { address?: unknown; interface?: unknown }[];
    interfaces?: { name?: unknown; mac?: unknown; sandbox?: unknown }[];
  };
  const first = r.ips?.find((i) => typeof i.address === 'string');
  if (first === undefined || typeof first.address !== 'string')
    throw new CalicoError('CALICO_ERR_PARSE', `CNI result has no address: ${stdout.trim()}`);
  const ip = first.address.split('/')[0] ?? first.address;
  const iface = typeof first.interface === 'number' ? r.interfaces?.[first.interface] : undefined;
  const mac = typeof iface?.mac === 'string' ? iface.mac : undefined;
  return mac === undefined ? { ip } : { ip, mac };
}

export async function cniAdd(
  runner: CommandRunner,
  a: CniAttachment,
  options: Signal = {},
): Promise<{ ip: string; mac?: string }> {
  return parseCniResult(await runPlugin(runner, 'ADD', a, options));
}

/** DEL is idempotent: the endpoint, the pod's interface and the addresses go. */
export async function cniDel(runner: CommandRunner, a: CniAttachment, options: Signal = {}): Promise<void> {
  await runPlugin(runner, 'DEL', a, options);
}
