#!/usr/bin/env node
/**
 * calico-lab: a Calico lab on this machine, one command at a time (state in a run dir, processes detached),
 * and the one-command demo. See USAGE; cli-up.ts has `up`/`down`, cli-lab.ts how commands reach the lab (and
 * which of them lock it), demo.ts the demo.
 *
 * Every command takes `--run-dir DIR` (default $CALICO_LAB_DIR, else <tmp>/calico-lab). SIGINT, SIGTERM,
 * SIGHUP or a closed stdout abort the command; an interrupted `up` or `demo` removes what it built.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { parseLabels, parseNamedPort } from './cli-args.js';
import { uiCommand } from './cli-ui.js';
import { defaultRunDir, labCommand, withLab, withLabLock } from './cli-lab.js';
import { showLogs } from './cli-logs.js';
import { down, up } from './cli-up.js';
import { formatStatus, formatSyncError } from './cli-status.js';
import type { LabCluster } from '../labkit/cluster.js';
import { LabSyncError } from '../labkit/cluster-agents.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { etcdUnavailableReason, parseDatastoreChoice, type LabDatastoreChoice } from '../labkit/datastore.js';
import { runDemo } from './demo.js';
import { labKubeEnv } from '../labkit/kube/lab.js';
import { parsePodKey } from '../labkit/resources.js';
import { agentRouted, parseLabNetwork, type LabNetwork } from '../labkit/topology.js';
import type { UpAsk } from './up-settings.js';
import { MAX_DNS_TTL } from '../labkit/dns-zone.js';

const USAGE = `Usage: calico-lab [--run-dir DIR] COMMAND

  up [--nodes N] [--network bgp|vxlan|vxlan-crosssubnet|static] [--racks R] [--datastore embedded|etcd]
     [--no-agent] [--kubernetes] [--dns-ttl S]
                                    create the lab (default: 2 nodes, bgp, embedded datastore); on a lab that
                                    is up: keep its settings, start stopped agents, add nodes up to --nodes;
                                    --kubernetes: also a Kubernetes control plane (etcd, kube-apiserver,
                                    controller manager, scheduler, Calico's CRDs; every node a Node; built by
                                    scripts/build-kubernetes.sh), admin kubeconfig <run dir>/kubeconfig; with
                                    agents (and no --datastore) it is the lab's datastore (calico-node, CNI
                                    and calicoctl on KDD) and a lab kubelet per node runs the Pods created
                                    with kubectl; the cluster DNS (dnsmasq in kube-system/coredns) serves
                                    api.example.com, www.example.com, cdn.example.com (CNAME) and evil.test
                                    for outside addresses with TTL --dns-ttl (default 30 s)
  pod add NS/POD [--node NODE] [--ip ADDR] [--static] [--labels k=v,...] [--port N]...
     [--named-port NAME:PORT[/PROTO]]...
                                    create a pod through the calico CNI plugin (calico-ipam picks the address
                                    unless --ip); --static wires it without CNI (needs --ip in a static lab);
                                    the pod serves TCP and UDP echo on each --port
  pod del NS/POD                    remove a pod (CNI DEL for CNI pods)
  pod label NS/POD k=v,...          replace a pod's labels
  probe FROM TO --port N [--protocol tcp|udp] [--timeout-ms MS]
                                    connect from pod FROM (or outside) to pod, outside, address or DNS name
                                    TO (looked up from FROM through the cluster DNS first): allowed
                                    (exit 0), denied (dropped: no answer, every hop routed), unreachable (an
                                    ICMP error), no route (a hop of the path has no route), refused
  exec NODE|NS/POD|outside|fabric -- CMD [ARG]...
                                    run a command in that namespace
  env                               the datastore variables for calicoctl, and KUBECONFIG with --kubernetes
                                    (eval "$(calico-lab env)")
  sync                              wait until every node's agent has programmed the datastore's current state
                                    and every node routes every pod; names the agents that are down
  status                            nodes, agents, routes mode, pods
  ui [--port N]                     the flow viewer on http://127.0.0.1:8081/ (or --port): live flows of
                                    every node with the policy that decided each (until Ctrl-C); the same
                                    flows in a terminal: eval "$(calico-lab env)"; calicoctl flows
  logs [NODE] [--follow]            packets logged by Calico Log rules (calico-packet: SRC= DST= PROTO=)
  agent start|stop|restart|kill [NODE]
  down [--keep-logs]                remove everything (--keep-logs: keep the agents', BIRD's and packet logs
                                    in the run dir)
  demo [--network MODE] [--datastore embedded|etcd] [--probe-timeout-ms MS] [--keep] [--kubernetes]
                                    the guided tour: two nodes, pods, policies, reachability matrices

Node names are node-1, node-2, ... Run dir: --run-dir, else $CALICO_LAB_DIR, else ${join(tmpdir(), 'calico-lab')}.`;

class UsageFailure extends Error {}

const OPTIONS = {
  'run-dir': { type: 'string' },
  nodes: { type: 'string' },
  network: { type: 'string' },
  racks: { type: 'string' },
  'dns-ttl': { type: 'string' },
  datastore: { type: 'string' },
  'no-agent': { type: 'boolean' },
  kubernetes: { type: 'boolean' },
  ip: { type: 'string' },
  node: { type: 'string' },
  static: { type: 'boolean', default: false },
  labels: { type: 'string' },
  port: { type: 'string', multiple: true },
  'named-port': { type: 'string', multiple: true },
  protocol: { type: 'string', default: 'tcp' },
  'timeout-ms': { type: 'string', default: '1000' },
  'probe-timeout-ms': { type: 'string', default: '1000' },
  keep: { type: 'boolean', default: false },
  'keep-logs': { type: 'boolean', default: false },
  follow: { type: 'boolean', short: 'f', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function runDirOf(values: Values): string {
  return values['run-dir'] ?? defaultRunDir();
}

function int(text: string | undefined, what: string, max: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 1 || n > max)
    throw new UsageFailure(`${what} must be 1..${max}, not "${text ?? ''}"`);
  return n;
}

function out(line: string): void {
  if (!process.stdout.destroyed) process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

function networkOf(text: string): LabNetwork {
  const n = parseLabNetwork(text);
  if (n === undefined) throw new UsageFailure(`--network must be bgp, vxlan, vxlan-crosssubnet or static`);
  return n;
}

function datastoreOf(text: string): LabDatastoreChoice {
  const d = parseDatastoreChoice(text);
  if (d === undefined) throw new UsageFailure('--datastore must be embedded or etcd');
  const why = d === 'etcd' ? etcdUnavailableReason() : false;
  if (why !== false) throw new UsageFailure(`--datastore etcd cannot run here: ${why}`);
  return d;
}

async function upCommand(values: Values, signal: AbortSignal): Promise<number> {
  const ask: UpAsk = {
    ...(values.nodes !== undefined ? { nodes: int(values.nodes, '--nodes', 250) } : {}),
    ...(values.network !== undefined ? { network: networkOf(values.network) } : {}),
    ...(values.racks !== undefined ? { racks: int(values.racks, '--racks', 9) } : {}),
    ...(values.datastore !== undefined ? { datastore: datastoreOf(values.datastore) } : {}),
    ...(values['no-agent'] === true ? { agents: false } : {}),
    ...(values.kubernetes === true ? { kubernetes: true } : {}),
  };
  const runDir = runDirOf(values);
  const dnsTtl =
    values['dns-ttl'] === undefined ? undefined : int(values['dns-ttl'], '--dns-ttl', MAX_DNS_TTL);
  await up(runDir, ask, out, signal, dnsTtl !== undefined ? { dnsTtl } : {});
  return withLab(runDir, async (lab) => {
    out(`lab up in ${lab.runDir}`);
    out(await formatStatus(lab));
    out(`calicoctl: eval "$(${labCommand(lab.runDir, ['env'])})", or ${envLine(lab)}`);
    return 0;
  });
}

/** The variables `env` prints: the datastore's, and KUBECONFIG for a lab with a control plane. */
function labEnv(lab: LabCluster): Record<string, string> {
  const goldmane = lab.goldmaneServer();
  return {
    ...lab.datastoreEnv,
    ...labKubeEnv(lab.state),
    ...(goldmane !== undefined ? { CALICO_GOLDMANE_SERVER: goldmane } : {}),
  };
}

function envLine(lab: LabCluster): string {
  return Object.entries(labEnv(lab))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Runs a command that changes the lab: under the run dir's lock, on the state read once it is held. */
function changeLab<T>(values: Values, fn: (lab: LabCluster) => Promise<T>): Promise<T> {
  const runDir = runDirOf(values);
  return withLabLock(runDir, err, () => withLab(runDir, fn));
}

/** `sync` (also after `pod add`): the revision, or what is not in sync with hints; the exit status. */
async function syncCommand(lab: LabCluster, signal: AbortSignal): Promise<number> {
  try {
    out(`in sync at revision ${await lab.sync({ signal })}`);
    return 0;
  } catch (e) {
    if (!(e instanceof LabSyncError)) throw e;
    err(formatSyncError(lab, e));
    return 1;
  }
}

async function podAdd(lab: LabCluster, key: string, values: Values, signal: AbortSignal): Promise<number> {
  const { namespace, name } = parsePodKey(key)!;
  const node = values.node ?? lab.nodes()[0]?.name;
  if (node === undefined) throw new UsageFailure('the lab has no node');
  const plumb = values.static || !agentRouted(lab.network);
  if (plumb && values.ip === undefined && !agentRouted(lab.network))
    throw new UsageFailure('a pod in a static lab needs --ip');
  const cniWhy = plumb ? false : cniUnavailableReason();
  if (cniWhy !== false) throw new UsageFailure(`${cniWhy}; use --static to wire the pod without CNI`);
  const r = await lab.addPod(
    node,
    {
      namespace,
      name,
      ...(values.ip !== undefined ? { ip: values.ip } : {}),
      labels: parseLabels(values.labels ?? ''),
      ports: (values.port ?? []).map((p) => int(p, '--port', 65535)),
      containerPorts: (values['named-port'] ?? []).map(parseNamedPort),
    },
    { signal, via: plumb ? 'plumb' : 'cni' },
  );
  out(
    `pod ${key} on ${node} (${plumb ? 'wired by the lab' : 'calico CNI plugin'}): ${r.ip}, netns ${r.netns}, host interface ${r.hostIfname}`,
  );
  if (!lab.nodes().some((n) => lab.agentRunning(n.name))) return 0;
  const code = await syncCommand(lab, signal);
  out(`endpoint programmed: ${lab.endpointProgrammed(key)}`);
  if (code === 0 && agentRouted(lab.network)) out('routed from every other node');
  return code;
}

async function pod(args: readonly string[], values: Values, signal: AbortSignal): Promise<number> {
  const [sub, key, extra] = args;
  if (key === undefined || parsePodKey(key) === undefined) throw new UsageFailure('pod needs NS/POD');
  return changeLab(values, async (lab) => {
    switch (sub ?? '') {
      case 'add':
        return podAdd(lab, key, values, signal);
      case 'del':
        await lab.removePod(key);
        out(`pod ${key} removed`);
        return 0;
      case 'label':
        await lab.setPodLabels(key, parseLabels(extra ?? ''), { signal });
        out(`pod ${key} labels: ${extra ?? ''}`);
        return 0;
      default:
        throw new UsageFailure(`unknown pod command "${sub ?? ''}"`);
    }
  });
}

async function probe(args: readonly string[], values: Values): Promise<number> {
  const [from, to] = args;
  if (from === undefined || to === undefined) throw new UsageFailure('probe needs FROM and TO');
  const protocol = values.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp') throw new UsageFailure('--protocol must be tcp or udp');
  const port = int(values.port?.[0], '--port', 65535);
  const timeoutMs = int(values['timeout-ms'], '--timeout-ms', 60_000);
  return withLab(runDirOf(values), async (lab) => {
    const o = await lab.probe(from, { to, protocol, port, timeoutMs });
    const verdict = o.verdict.replace('-', ' ');
    out(`${from} -> ${to} ${protocol}/${port}: ${verdict} (${o.detail}, ${o.elapsedMs} ms)`);
    return o.verdict === 'allowed' ? 0 : 1;
  });
}

/** `exec TARGET -- CMD...`: the command's own exit status (stdio inherited). */
async function exec(args: readonly string[], values: Values): Promise<number> {
  const [target, ...cmd] = args;
  if (target === undefined || cmd.length === 0) throw new UsageFailure('exec needs TARGET -- CMD');
  const ns = await withLab(runDirOf(values), (lab) => Promise.resolve(lab.netnsOf(target)));
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' });
  if (r.error !== undefined) throw r.error;
  return r.status ?? 128;
}

async function agent(args: readonly string[], values: Values, signal: AbortSignal): Promise<number> {
  const [action, nodeArg] = args;
  return changeLab(values, async (lab) => {
    const nodes = nodeArg !== undefined ? [lab.node(nodeArg).name] : lab.nodes().map((n) => n.name);
    for (const node of nodes) {
      switch (action ?? '') {
        case 'start':
          await lab.startAgent(node, { signal });
          break;
        case 'stop':
          await lab.stopAgent(node);
          break;
        case 'restart':
          await lab.restartAgent(node, { signal });
          break;
        case 'kill':
          await lab.killAgent(node);
          break;
        default:
          throw new UsageFailure(`unknown agent action "${action ?? ''}"`);
      }
      const pid = lab.node(node).agentPid;
      out(`agent ${node}: ${action} done (${pid !== undefined ? `running, pid ${pid}` : 'not running'})`);
    }
    return 0;
  });
}

async function main(argv: string[], signal: AbortSignal): Promise<number> {
  // Everything after `--` belongs to `exec`'s command.
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const { values, positionals } = parseArgs({ args: own, allowPositionals: true, options: OPTIONS });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const runDir = runDirOf(values);
  switch (command) {
    case 'up':
      return upCommand(values, signal);
    case 'down':
      await down(runDir, out, { keepLogs: values['keep-logs'] });
      return 0;
    case 'pod':
      return pod(rest, values, signal);
    case 'probe':
      return probe(rest, values);
    case 'exec':
      return exec([...rest, ...(dash < 0 ? [] : argv.slice(dash + 1))], values);
    case 'agent':
      return agent(rest, values, signal);
    case 'env':
      return withLab(runDir, (lab) => {
        for (const [k, v] of Object.entries(labEnv(lab))) out(`export ${k}=${v}`);
        return Promise.resolve(0);
      });
    case 'sync':
      return withLab(runDir, (lab) => syncCommand(lab, signal));
    case 'status':
      return withLab(runDir, async (lab) => {
        out(await formatStatus(lab));
        return 0;
      });
    case 'ui':
      return uiCommand(
        runDir,
        { signal, ...(values.port?.[0] !== undefined ? { port: int(values.port[0], '--port', 65535) } : {}) },
        out,
      );
    case 'logs':
      return withLab(runDir, (lab) => showLogs(lab, rest[0], { follow: values.follow, signal }, out, err));
    case 'demo':
      return runDemo(
        {
          network: networkOf(values.network ?? 'bgp'),
          datastore: datastoreOf(values.datastore ?? 'embedded'),
          probeTimeoutMs: int(values['probe-timeout-ms'], '--probe-timeout-ms', 60_000),
          keep: values.keep,
          kubernetes: values.kubernetes === true,
          ...(values.keep || values['run-dir'] !== undefined ? { runDir } : {}),
        },
        out,
        signal,
      );
    default:
      throw new UsageFailure(`unknown command "${command}"`);
  }
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`calico-lab: ${sig}; cleaning up\n`);
      controller.abort(new Error(`interrupted (${sig})`));
    });
  }
  // A reader that went away (`calico-lab demo | head`) is an interruption too: clean up, print nothing more.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!controller.signal.aborted) controller.abort(new Error(`stdout: ${e.code ?? e.message}`));
  });
  main(process.argv.slice(2), controller.signal).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const usage =
        e instanceof UsageFailure || (e instanceof Error && e.name === 'TypeError' && 'code' in e);
      process.stderr.write(`calico-lab: ${errorMessage(e)}\n${usage ? `${USAGE}\n` : ''}`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
