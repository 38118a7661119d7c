/**
 * Test support for multi-node networking on the real kernel: a fabric namespace that bridges each subnet
 * and routes between subnets (so "another subnet" is real), node namespaces attached to it, one calico-node
 * agent per node (the built `dist/src/agent/main.js`, in the node's namespace) against one shared embedded
 * datastore, and pods plumbed the way the CNI plugin does it with addresses from IPAM. Namespaces, processes
 * and the temp dir are removed on dispose, also after failures.
 *
 *   fabric ns:  br<s> = 10.0.<s>.254/24 per subnet, ip_forward on, no routes to pods
 *   node ns:    eth0 = 10.0.<s>.<i>/24, default via 10.0.<s>.254, ip_forward on
 *   pod ns:     eth0 = <IPAM address>/32, default via 169.254.1.1 (proxy ARP on the host side)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import { keyOf, openBackend, type Backend, type Resource } from '../../datastore/index.js';
import { IpamClient } from '../../ipam/index.js';
import { waitFor } from '../../lib/async.js';
import { NetnsScope, runChecked } from '../../labkit/netns.js';
import { workloadEndpointName } from '../../model/ids.js';
import { workloadInterfaceName } from '../../model/k8s-resources.js';
import { repoRoot } from '../../test-support/repo.js';

export const host = new NodeCommandRunner();

export interface ClusterNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly subnet: number;
  readonly runDir: string;
  readonly logFile: string;
}

export interface ClusterPod {
  readonly node: ClusterNode;
  readonly ns: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly iface: string;
}

/** Waits (bounded) until `check` is true; the timeout names `what` and adds `describe()`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  describe: () => Promise<string> = () => Promise.resolve(''),
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<void> {
  await waitFor(check, { timeoutMs, intervalMs: everyMs, what, describe });
}

/** A TCP server that answers every connection with the peer address it sees, then closes. */
const PEER_SERVER = `
const [host, port] = process.argv.slice(1);
require('node:net').createServer((s) => { s.on('error', () => {}); s.end(s.remoteAddress + '\\n'); })
  .listen(Number(port), host, () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 120000);
`;

/** Connects once and prints what the server says (bounded). */
const PEER_CLIENT = `
const [host, port, ms] = process.argv.slice(1);
const s = require('node:net').connect(Number(port), host);
const t = setTimeout(() => { process.stderr.write('timeout'); process.exit(1); }, Number(ms));
let out = '';
s.setEncoding('utf8');
s.on('data', (d) => { out += d; });
s.on('end', () => { clearTimeout(t); process.stdout.write(out.trim()); process.exit(0); });
s.on('error', (e) => { clearTimeout(t); process.stderr.write(String(e)); process.exit(2); });
`;

export class NetworkCluster implements AsyncDisposable {
  readonly scope = new NetnsScope(host);
  readonly dir = mkdtempSync(join(tmpdir(), 'calts-net-'));
  readonly dbPath = join(this.dir, 'calico.db');
  readonly nodes = new Map<string, ClusterNode>();
  readonly agents = new Map<string, ChildProcess>();
  private readonly servers: AbortController[] = [];
  private readonly bridges = new Set<number>();
  fabric = '';
  backend!: Backend;
  ipam!: IpamClient;

  async setup(): Promise<void> {
    this.fabric = await this.scope.namespace();
    await this.scope.sysctl(this.fabric, 'net.ipv4.ip_forward', '1');
    this.backend = await openBackend({ datastoreType: 'embedded', datastorePath: this.dbPath });
    this.ipam = new IpamClient(this.backend);
  }

  private async bridge(subnet: number): Promise<void> {
    if (this.bridges.has(subnet)) return;
    this.bridges.add(subnet);
    const f = this.scope.runner(this.fabric);
    await runChecked(f, 'ip', ['link', 'add', `br${subnet}`, 'type', 'bridge']);
    await runChecked(f, 'ip', ['addr', 'add', `10.0.${subnet}.254/24`, 'dev', `br${subnet}`]);
    await runChecked(f, 'ip', ['link', 'set', `br${subnet}`, 'up']);
  }

  /** A namespace on subnet `10.0.<subnet>.0/24` with address `.<index>` on eth0 (a node, or an outside host). */
  async attach(subnet: number, index: number): Promise<{ ns: string; ip: string }> {
    await this.bridge(subnet);
    const ns = await this.scope.namespace();
    const ip = `10.0.${subnet}.${index}`;
    const port = `p${subnet}x${index}`;
    await this.scope.veth({ ns, name: 'eth0', address: `${ip}/24` }, { ns: this.fabric, name: port });
    await runChecked(this.scope.runner(this.fabric), 'ip', ['link', 'set', port, 'master', `br${subnet}`]);
    await this.scope.addRoute(ns, 'default', { via: `10.0.${subnet}.254` });
    return { ns, ip };
  }

  async addNode(name: string, subnet: number, index: number): Promise<ClusterNode> {
    const { ns, ip } = await this.attach(subnet, index);
    await this.scope.sysctl(ns, 'net.ipv4.ip_forward', '1');
    const runDir = join(this.dir, name);
    const node: ClusterNode = { name, ns, ip, subnet, runDir, logFile: join(this.dir, `${name}.log`) };
    this.nodes.set(name, node);
    return node;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** Starts the agent of `name` (logging to its log file, appended across restarts). */
  startAgent(name: string, env: Record<string, string>): ChildProcess {
    const n = this.node(name);
    const main = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
    const log = openSync(n.logFile, 'a');
    const child = spawn('ip', ['netns', 'exec', n.ns, process.execPath, main], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        NODENAME: name,
        DATASTORE_TYPE: 'embedded',
        CALICO_DATASTORE_PATH: this.dbPath,
        CALICO_RUN_DIR: n.runDir,
        // Never the host's /var/lib/calico.
        CALICO_NODENAME_FILE: join(n.runDir, 'nodename'),
        CALICO_MTU_FILE: join(n.runDir, 'mtu'),
        FELIX_HEALTHENABLED: 'false',
        FELIX_LOGSEVERITYSCREEN: 'info',
        ...env,
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.agents.set(name, child);
    return child;
  }

  async stopAgent(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const a = this.agents.get(name);
    this.agents.delete(name);
    if (a === undefined || a.exitCode !== null || a.signalCode !== null) return;
    const exited = new Promise<void>((r) => {
      a.once('exit', () => {
        r();
      });
    });
    a.kill(signal);
    await exited;
  }

  log(name: string): string {
    try {
      return readFileSync(this.node(name).logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async put(obj: Resource): Promise<Resource> {
    const [stored] = await this.backend.applyMany([obj]);
    if (stored === undefined) throw new Error('applyMany returned nothing');
    return stored;
  }

  async remove(obj: Resource): Promise<void> {
    await this.backend.delete(keyOf(obj));
  }

  /** `ip …` in a namespace of this cluster, stdout trimmed. */
  async ip(ns: string, ...args: string[]): Promise<string> {
    return (await runChecked(this.scope.runner(ns), 'ip', args)).trim();
  }

  /** An address for a pod on `node` from IPAM (as the CNI plugin's IPAM would). */
  async allocate(node: string, namespace: string, pod: string): Promise<string> {
    const { ipv4 } = await this.ipam.autoAssign({
      num4: 1,
      num6: 0,
      hostname: node,
      handleId: `k8s-pod-network.${namespace}.${pod}`,
      attrs: { node, namespace, pod },
    });
    const ip = ipv4[0]?.ip;
    if (ip === undefined) throw new Error('IPAM assigned nothing');
    return ip.split('/')[0] ?? ip;
  }

  /** Plumbs a pod like the CNI plugin (veth, /32, 169.254.1.1 gateway, host route) and writes its endpoint. */
  async addPod(nodeName: string, namespace: string, name: string, ip?: string): Promise<ClusterPod> {
    const node = this.node(nodeName);
    const addr = ip ?? (await this.allocate(nodeName, namespace, name));
    const ns = await this.scope.namespace();
    const iface = workloadInterfaceName(namespace, name);
    const h = (...a: string[]) => runChecked(host, 'ip', ['-n', node.ns, ...a]);
    const p = (...a: string[]) => runChecked(host, 'ip', ['-n', ns, ...a]);
    await h('link', 'add', iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await h('link', 'set', iface, 'address', 'ee:ee:ee:ee:ee:ee', 'up');
    await p('addr', 'add', `${addr}/32`, 'dev', 'eth0');
    await p('link', 'set', 'eth0', 'up');
    await p('route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
    await p('route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
    await this.scope.sysctl(node.ns, `net.ipv4.conf.${iface}.proxy_arp`, '1');
    await this.scope.sysctl(node.ns, `net.ipv4.neigh.${iface}.proxy_delay`, '0');
    await h('route', 'add', `${addr}/32`, 'dev', iface, 'scope', 'link');
    const pod: ClusterPod = { node, ns, namespace, name, ip: addr, iface };
    await this.put(workloadEndpoint(pod));
    return pod;
  }

  /** Starts a peer-address server in `ns` (stopped on dispose) and waits until it listens. */
  async peerServer(ns: string, address: string, port: number): Promise<void> {
    const ac = new AbortController();
    this.servers.push(ac);
    const run = this.scope
      .runner(ns)
      .run(process.execPath, ['-e', PEER_SERVER, address, String(port)], { signal: ac.signal })
      .catch(() => undefined);
    void run;
    await eventually(`server ${address}:${port}`, async () => {
      const r = await this.scope.runner(ns).run('ss', ['-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
      return r.stdout.trim() !== '';
    });
  }

  /** Connects from `ns` to a peer-address server; the address it saw, or undefined when unreachable. */
  async peerSeen(ns: string, address: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
    const r = await this.scope
      .runner(ns)
      .run(process.execPath, ['-e', PEER_CLIENT, address, String(port), String(timeoutMs)], {
        timeoutMs: timeoutMs + 5000,
      });
    return r.code === 0 ? r.stdout.trim().replace(/^::ffff:/, '') : undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const s of this.servers) s.abort();
    for (const name of [...this.agents.keys()]) await this.stopAgent(name, 'SIGKILL').catch(() => undefined);
    await this.backend.close().catch(() => undefined);
    try {
      // Deleting the namespaces also kills what is left in them (BIRD daemons).
      await this.scope[Symbol.asyncDispose]();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

export function namespaceObject(name: string): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
  };
}

export function workloadEndpoint(p: ClusterPod): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: workloadEndpointName(p.node.name, 'k8s', p.name, 'eth0'),
      namespace: p.namespace,
      labels: { 'projectcalico.org/namespace': p.namespace, 'projectcalico.org/orchestrator': 'k8s' },
    },
    spec: {
      orchestrator: 'k8s',
      node: p.node.name,
      pod: p.name,
      endpoint: 'eth0',
      interfaceName: p.iface,
      ipNetworks: [`${p.ip}/32`],
      profiles: [`kns.${p.namespace}`],
    },
  } as Resource;
}
