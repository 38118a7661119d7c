/**
 * Test support for real-kernel agent tests: a node namespace (with an uplink so proxy ARP works), the agent
 * process running inside it against an embedded datastore in a temp dir, and pods plumbed the way the CNI
 * plugin does it. Everything lives in namespaces created here and is removed on dispose.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAgentStatusSync, type AgentStatus } from '../cni/agent-status.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { waitFor } from '../lib/async.js';
import type { Backend, Resource } from '../datastore/index.js';
import { keyOf, openBackend } from '../datastore/index.js';
import { NetnsScope, runChecked } from '../labkit/netns.js';
import { workloadEndpointName } from '../model/ids.js';
import { workloadInterfaceName } from '../model/k8s-resources.js';
import { repoRoot } from '../test-support/repo.js';

export const runner = new NodeCommandRunner();

export interface TestPod {
  readonly ns: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly iface: string;
  readonly labels: Record<string, string>;
}

export class AgentHarness implements AsyncDisposable {
  readonly scope = new NetnsScope(runner);
  readonly dir = mkdtempSync(join(tmpdir(), 'calts-agent-'));
  readonly dbPath = join(this.dir, 'calico.db');
  readonly runDir = join(this.dir, 'run');
  node = '';
  backend!: Backend;
  private agent: ChildProcess | undefined;
  private sync = 0;

  async setup(): Promise<void> {
    this.node = await this.scope.namespace();
    const ip = (...a: string[]) => runChecked(runner, 'ip', ['-n', this.node, ...a]);
    await ip('link', 'set', 'lo', 'up');
    // An uplink with a default route: proxy ARP answers for 169.254.1.1 only when it is routable.
    await ip('link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplinkp');
    await ip('link', 'set', 'uplink', 'up');
    await ip('link', 'set', 'uplinkp', 'up');
    await ip('addr', 'add', '192.0.2.1/24', 'dev', 'uplink');
    await ip('route', 'add', 'default', 'via', '192.0.2.254', 'dev', 'uplink', 'onlink');
    await this.scope.sysctl(this.node, 'net.ipv4.ip_forward', '1');
    await this.scope.sysctl(this.node, 'net.ipv6.conf.all.forwarding', '1');
    this.backend = await openBackend({ datastoreType: 'embedded', datastorePath: this.dbPath });
  }

  /** Starts (or restarts) the agent process in the node namespace. */
  startAgent(env: Record<string, string> = {}): void {
    const main = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
    this.agent = spawn('ip', ['netns', 'exec', this.node, process.execPath, main], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        NODENAME: 'node1',
        DATASTORE_TYPE: 'embedded',
        CALICO_DATASTORE_PATH: this.dbPath,
        CALICO_RUN_DIR: this.runDir,
        // Never the host's /var/lib/calico.
        CALICO_NODENAME_FILE: join(this.dir, 'nodename'),
        CALICO_MTU_FILE: join(this.dir, 'mtu'),
        FELIX_HEALTHENABLED: 'false',
        CALICO_NETWORKING_BACKEND: 'none',
        ...env,
      },
      stdio: ['ignore', 'ignore', openSync(join(this.dir, 'agent.log'), 'a')],
    });
  }

  agentPid(): number | undefined {
    return this.agent?.pid;
  }

  /** Whether the agent process was started and has not exited. */
  agentRunning(): boolean {
    return this.agent !== undefined && this.agent.exitCode === null && this.agent.signalCode === null;
  }

  /** Kills the agent abruptly (SIGKILL) and waits for it to be gone. */
  async killAgent(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const a = this.agent;
    if (a === undefined || a.exitCode !== null) return;
    const exited = new Promise<void>((r) =>
      a.once('exit', () => {
        r();
      }),
    );
    a.kill(signal);
    await exited;
    this.agent = undefined;
  }

  status(): AgentStatus | undefined {
    return readAgentStatusSync(this.runDir);
  }

  /** Writes a sentinel profile and waits until the agent has programmed everything up to it. */
  async settle(timeoutMs = 15_000): Promise<void> {
    this.sync++;
    const sentinel = await this.put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: { name: 'calico-test-sync', annotations: { n: String(this.sync) } },
      spec: {},
    } as Resource);
    const want = Number(sentinel.metadata.resourceVersion);
    await waitFor(
      () => {
        const s = this.status();
        return s?.dataplaneInSync === true && s.appliedRevision >= want;
      },
      {
        timeoutMs,
        what: `the agent to program revision ${want}`,
        describe: () =>
          `status ${JSON.stringify(this.status())}; log tail:\n${this.agentLog().split('\n').slice(-6).join('\n').slice(-3000)}`,
      },
    );
  }

  async put(obj: Resource): Promise<Resource> {
    const [stored] = await this.backend.applyMany([obj]);
    if (stored === undefined) throw new Error('applyMany returned nothing');
    return stored;
  }

  async remove(obj: Resource): Promise<void> {
    await this.backend.delete(keyOf(obj));
  }

  /** Plumbs a pod like the CNI plugin: veth, /32, 169.254.1.1 gateway, host route; no WorkloadEndpoint yet. */
  async plumbPod(
    namespace: string,
    name: string,
    ip: string,
    labels: Record<string, string> = {},
  ): Promise<TestPod> {
    const ns = await this.scope.namespace();
    const iface = workloadInterfaceName(namespace, name);
    await runChecked(runner, 'ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await runChecked(runner, 'ip', [
      '-n',
      this.node,
      'link',
      'add',
      iface,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await runChecked(runner, 'ip', [
      '-n',
      this.node,
      'link',
      'set',
      iface,
      'address',
      'ee:ee:ee:ee:ee:ee',
      'up',
    ]);
    await runChecked(runner, 'ip', ['-n', ns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await runChecked(runner, 'ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await runChecked(runner, 'ip', ['-n', ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await runChecked(runner, 'ip', [
      '-n',
      ns,
      'route',
      'add',
      'default',
      'via',
      '169.254.1.1',
      'dev',
      'eth0',
    ]);
    await this.scope.sysctl(this.node, `net.ipv4.conf.${iface}.proxy_arp`, '1');
    await this.scope.sysctl(this.node, `net.ipv4.neigh.${iface}.proxy_delay`, '0');
    await runChecked(runner, 'ip', [
      '-n',
      this.node,
      'route',
      'add',
      `${ip}/32`,
      'dev',
      iface,
      'scope',
      'link',
    ]);
    return { ns, namespace, name, ip, iface, labels };
  }

  workloadEndpoint(p: TestPod): Resource {
    return {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: {
        name: workloadEndpointName('node1', 'k8s', p.name, 'eth0'),
        namespace: p.namespace,
        labels: {
          ...p.labels,
          'projectcalico.org/namespace': p.namespace,
          'projectcalico.org/orchestrator': 'k8s',
        },
      },
      spec: {
        orchestrator: 'k8s',
        node: 'node1',
        pod: p.name,
        endpoint: 'eth0',
        interfaceName: p.iface,
        ipNetworks: [`${p.ip}/32`],
        profiles: [`kns.${p.namespace}`],
      },
    } as Resource;
  }

  /** nft's view of our table (chains, sets with elements, maps), without handles or counters. */
  async tableText(ns = this.node): Promise<string> {
    return runChecked(runner, 'ip', ['netns', 'exec', ns, 'nft', '-s', 'list', 'table', 'inet', 'calico']);
  }

  /** The agent's log (JSON lines), for failure messages. */
  agentLog(): string {
    try {
      return readFileSync(join(this.dir, 'agent.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.killAgent('SIGTERM').catch(() => undefined);
    // setup() may never have run (a test filtered out, or a failing before hook).
    await (this.backend as Backend | undefined)?.close().catch(() => undefined);
    await this.scope[Symbol.asyncDispose]();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function namespaceObject(name: string, labels: Record<string, string> = {}): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

export function knp(namespace: string, name: string, spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec,
  } as Resource;
}
