#!/usr/bin/env node
/**
 * calico-lab: a Calico lab on this machine, one command at a time (state in a run dir, processes detached),
 * and the one-command demo. See USAGE; cli-up.ts has `up`/`down`, demo.ts the demo.
 *
 * Every command takes `--run-dir DIR` (default $CALICO_LAB_DIR, else <tmp>/calico-lab). SIGINT, SIGTERM,
 * SIGHUP or a closed stdout abort the command; an interrupted `up` or `demo` removes what it built.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../lib/errors.js';
import { parseLabels, parseNamedPort } from './cli-args.js';
import { down, up } from './cli-up.js';
import { formatStatus } from './cli-status.js';
import { LabCluster } from '../labkit/cluster.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { etcdUnavailableReason, parseDatastoreChoice, type LabDatastoreChoice } from '../labkit/datastore.js';
import { runDemo } from './demo.js';
import { parsePodKey } from '../labkit/resources.js';
import {
  agentRouted,
  defaultRacks,
  parseLabNetwork,
  topologyProblem,
  type LabNetwork,
} from '../labkit/topology.js';

const USAGE = `Usage: calico-lab [--run-dir DIR] COMMAND

  up [--nodes N] [--network bgp|vxlan|vxlan-crosssubnet|static] [--racks R] [--datastore embedded|etcd]
     [--no-agent]                  create the lab (default: 2 nodes, bgp, embedded datastore), or complete it
  pod add NS/POD [--node NODE] [--ip ADDR] [--static] [--labels k=v,...] [--port N]...
     [--named-port NAME:PORT[/PROTO]]...
                                    create a pod through the calico CNI plugin (calico-ipam picks the address
                                    unless --ip); --static wires it without CNI (needs --ip in a static lab);
                                    the pod serves TCP and UDP echo on each --port
  pod del NS/POD                    remove a pod (CNI DEL for CNI pods)
  pod label NS/POD k=v,...          replace a pod's labels
  probe FROM TO --port N [--protocol tcp|udp] [--timeout-ms MS]
                                    connect from pod FROM (or outside) to pod, outside or address TO
                                    (exit 0 when allowed)
  exec NODE|NS/POD|outside|fabric -- CMD [ARG]...
                                    run a command in that namespace
  env                               the datastore variables for calicoctl (eval "$(calico-lab env)")
  sync                              wait until every agent has programmed the datastore's current state
  status                            nodes, agents, routes mode, pods
  agent start|stop|restart|kill [NODE]
  down                              remove everything
  demo [--network MODE] [--datastore embedded|etcd] [--probe-timeout-ms MS] [--keep]
                                    the guided tour: two nodes, pods, policies, reachability matrices

Run dir: --run-dir, else $CALICO_LAB_DIR, else ${join(tmpdir(), 'calico-lab')}.`;

class UsageFailure extends Error {}

const OPTIONS = {
  'run-dir': { type: 'string' },
  nodes: { type: 'string', default: '2' },
  network: { type: 'string' },
  racks: { type: 'string' },
  datastore: { type: 'string', default: 'embedded' },
  'no-agent': { type: 'boolean', default: false },
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
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function runDirOf(values: Values): string {
  return values['run-dir'] ?? process.env.CALICO_LAB_DIR ?? join(tmpdir(), 'calico-lab');
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

function networkOf(values: Values, fallback: LabNetwork): LabNetwork {
  const n = parseLabNetwork(values.network ?? fallback);
  if (n === undefined) throw new UsageFailure(`--network must be bgp, vxlan, vxlan-crosssubnet or static`);
  return n;
}

function datastoreOf(values: Values): LabDatastoreChoice {
  const d = parseDatastoreChoice(values.datastore);
  if (d === undefined) throw new UsageFailure('--datastore must be embedded or etcd');
  const why = d === 'etcd' ? etcdUnavailableReason() : false;
  if (why !== false) throw new UsageFailure(`--datastore etcd cannot run here: ${why}`);
  return d;
}

async function upCommand(values: Values, signal: AbortSignal): Promise<number> {
  const agents = !values['no-agent'];
  const network = networkOf(values, agents ? 'bgp' : 'static');
  if (!agents && agentRouted(network)) throw new UsageFailure(`--no-agent needs --network static`);
  const nodes = int(values.nodes, '--nodes', 250);
  const racks = values.racks === undefined ? defaultRacks(network, nodes) : int(values.racks, '--racks', 9);
  const problem = topologyProblem(network, racks);
  if (problem !== undefined) throw new UsageFailure(problem);
  const runDir = runDirOf(values);
  await up({ runDir, nodes, network, racks, datastore: datastoreOf(values), agents }, out, signal);
  return withLab(values, async (lab) => {
    out(`lab up in ${lab.runDir}`);
    out(await formatStatus(lab));
    out(`calicoctl: eval "$(calico-lab env)", or ${envLine(lab)}`);
    return 0;
  });
}

function envLine(lab: LabCluster): string {
  return Object.entries(lab.datastoreEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

async function withLab<T>(values: Values, fn: (lab: LabCluster) => Promise<T>): Promise<T> {
  const lab = await LabCluster.attach(runDirOf(values));
  try {
    return await fn(lab);
  } finally {
    await lab.detach();
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
  if (lab.nodes().some((n) => lab.agentRunning(n.name))) {
    await lab.sync({ signal });
    out(`endpoint programmed: ${lab.endpointProgrammed(key)}`);
    const missing = await lab.waitRoutes({ keys: [key], signal });
    if (agentRouted(lab.network))
      out(missing.length === 0 ? 'routed from every other node' : `not routed yet: ${missing.join(', ')}`);
  }
  return 0;
}

async function pod(args: readonly string[], values: Values, signal: AbortSignal): Promise<number> {
  const [sub, key, extra] = args;
  if (key === undefined || parsePodKey(key) === undefined) throw new UsageFailure('pod needs NS/POD');
  return withLab(values, async (lab) => {
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
  return withLab(values, async (lab) => {
    const o = await lab.probe(from, { to, protocol, port, timeoutMs });
    out(`${from} -> ${to} ${protocol}/${port}: ${o.verdict} (${o.detail}, ${o.elapsedMs} ms)`);
    return o.verdict === 'allowed' ? 0 : 1;
  });
}

/** `exec TARGET -- CMD...`: the command's own exit status (stdio inherited). */
async function exec(args: readonly string[], values: Values): Promise<number> {
  const [target, ...cmd] = args;
  if (target === undefined || cmd.length === 0) throw new UsageFailure('exec needs TARGET -- CMD');
  const ns = await withLab(values, (lab) => Promise.resolve(lab.netnsOf(target)));
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' });
  if (r.error !== undefined) throw r.error;
  return r.status ?? 128;
}

async function agent(args: readonly string[], values: Values, signal: AbortSignal): Promise<number> {
  const [action, nodeArg] = args;
  return withLab(values, async (lab) => {
    const nodes = nodeArg !== undefined ? [nodeArg] : lab.nodes().map((n) => n.name);
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
      out(`agent ${node}: ${action} done${lab.agentRunning(node) ? '' : ' (not running)'}`);
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
  switch (command) {
    case 'up':
      return upCommand(values, signal);
    case 'down':
      await down(runDirOf(values), out);
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
      return withLab(values, (lab) => {
        for (const [k, v] of Object.entries(lab.datastoreEnv)) out(`export ${k}=${v}`);
        return Promise.resolve(0);
      });
    case 'sync':
      return withLab(values, async (lab) => {
        out(`in sync at revision ${await lab.sync({ signal })}`);
        return 0;
      });
    case 'status':
      return withLab(values, async (lab) => {
        out(await formatStatus(lab));
        return 0;
      });
    case 'demo':
      return runDemo(
        {
          network: networkOf(values, 'bgp'),
          datastore: datastoreOf(values),
          probeTimeoutMs: int(values['probe-timeout-ms'], '--probe-timeout-ms', 60_000),
          keep: values.keep,
          ...(values.keep ? { runDir: runDirOf(values) } : {}),
          ...(values['run-dir'] !== undefined ? { runDir: values['run-dir'] } : {}),
        },
        out,
        signal,
      );
    default:
      throw new UsageFailure(`unknown command "${command}"`);
  }
}

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
    const usage = e instanceof UsageFailure || (e instanceof Error && e.name === 'TypeError' && 'code' in e);
    process.stderr.write(`calico-lab: ${errorMessage(e)}\n${usage ? `${USAGE}\n` : ''}`);
    process.exitCode = usage ? 2 : 1;
  },
);
