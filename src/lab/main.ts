#!/usr/bin/env node
/**
 * calico-lab: a Calico lab on this machine, one command at a time (state in a run dir, processes detached).
 *
 *   calico-lab up [--nodes N] [--no-agent]
 *   calico-lab pod add NS/POD --ip ADDR [--node NODE] [--labels k=v,...] [--port N]... [--named-port NAME:PORT[/PROTO]]...
 *   calico-lab pod del NS/POD
 *   calico-lab pod label NS/POD k=v,...
 *   calico-lab probe FROM TO --port N [--protocol tcp|udp] [--timeout-ms MS]
 *   calico-lab sync | status | down
 *   calico-lab agent start|stop|restart|kill [NODE]
 *
 * Every command takes `--run-dir DIR` (default $CALICO_LAB_DIR, else <tmp>/calico-lab). The lab's namespaces
 * are named after a keeper process (`sleep infinity`) that `down` ends, so test runs sweeping stale `calts-`
 * namespaces leave a live lab alone. SIGINT aborts the command; an interrupted `up` removes what it built.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../lib/errors.js';
import { LabCluster } from './cluster.js';
import { parseLabels, parseNamedPort } from './cli-args.js';
import { formatStatus } from './cli-status.js';
import { parsePodKey } from './resources.js';
import { statePath } from './state.js';

const USAGE = `Usage: calico-lab [--run-dir DIR] COMMAND

  up [--nodes N] [--no-agent]       create the lab: N nodes (default 1), each running the agent
  pod add NS/POD --ip ADDR [--node NODE] [--labels k=v,...] [--port N]... [--named-port NAME:PORT[/PROTO]]...
                                    plumb a pod (serving TCP and UDP echo on each --port), write its endpoint
  pod del NS/POD                    remove a pod
  pod label NS/POD k=v,...          replace a pod's labels
  probe FROM TO --port N [--protocol tcp|udp] [--timeout-ms MS]
                                    connect from pod FROM to pod or address TO (exit 0 when allowed)
  sync                              wait until every agent has programmed the datastore's current state
  status                            nodes, agents, pods
  agent start|stop|restart|kill [NODE]
  down                              remove everything

Run dir: --run-dir, else $CALICO_LAB_DIR, else ${join(tmpdir(), 'calico-lab')}.
Write policies with calicoctl: DATASTORE_TYPE=embedded CALICO_DATASTORE_PATH=<run dir>/calico.db`;

class UsageFailure extends Error {}

const OPTIONS = {
  'run-dir': { type: 'string' },
  nodes: { type: 'string', default: '1' },
  'no-agent': { type: 'boolean', default: false },
  ip: { type: 'string' },
  node: { type: 'string' },
  labels: { type: 'string' },
  port: { type: 'string', multiple: true },
  'named-port': { type: 'string', multiple: true },
  protocol: { type: 'string', default: 'tcp' },
  'timeout-ms': { type: 'string', default: '1000' },
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
  process.stdout.write(`${line}\n`);
}

async function up(values: Values, signal: AbortSignal): Promise<number> {
  const runDir = runDirOf(values);
  if (existsSync(statePath(runDir)))
    throw new UsageFailure(`a lab exists in ${runDir} (calico-lab down first)`);
  const nodes = int(values.nodes, '--nodes', 250);
  const keeper = spawn('sleep', ['infinity'], { detached: true, stdio: 'ignore' });
  keeper.unref();
  if (keeper.pid === undefined) throw new Error('cannot start the keeper process');
  const lab = await LabCluster.create({
    runDir,
    detached: true,
    ownerPid: keeper.pid,
    keepRunDir: false,
    ...(values['no-agent'] ? { agentEntry: null } : {}),
  });
  lab.keeperPid = keeper.pid;
  try {
    for (let i = 1; i <= nodes; i++)
      await lab.addNode(`node-${i}`, { startAgent: !values['no-agent'], signal });
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  out(`lab up in ${lab.runDir}`);
  out(`datastore: DATASTORE_TYPE=embedded CALICO_DATASTORE_PATH=${lab.datastorePath}`);
  for (const n of lab.nodes()) out(`node ${n.name}: netns ${n.netns}, agent run dir ${n.runDir}`);
  await lab.detach();
  return 0;
}

async function withLab<T>(values: Values, fn: (lab: LabCluster) => Promise<T>): Promise<T> {
  const lab = await LabCluster.attach(runDirOf(values));
  try {
    return await fn(lab);
  } finally {
    await lab.detach();
  }
}

async function pod(args: readonly string[], values: Values, signal: AbortSignal): Promise<number> {
  const [sub, key, extra] = args;
  if (key === undefined || parsePodKey(key) === undefined) throw new UsageFailure('pod needs NS/POD');
  const { namespace, name } = parsePodKey(key)!;
  return withLab(values, async (lab) => {
    switch (sub ?? '') {
      case 'add': {
        if (values.ip === undefined) throw new UsageFailure('pod add needs --ip');
        const node = values.node ?? lab.nodes()[0]?.name;
        if (node === undefined) throw new UsageFailure('the lab has no node');
        const r = await lab.addPod(
          node,
          {
            namespace,
            name,
            ip: values.ip,
            labels: parseLabels(values.labels ?? ''),
            ports: (values.port ?? []).map((p) => int(p, '--port', 65535)),
            containerPorts: (values['named-port'] ?? []).map(parseNamedPort),
          },
          { signal },
        );
        out(`pod ${key} on ${node}: ${r.ip} netns ${r.netns}, host interface ${r.hostIfname}`);
        if (lab.agentRunning(node)) {
          await lab.sync({ signal });
          out(`endpoint programmed: ${lab.endpointProgrammed(key)}`);
        }
        return 0;
      }
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
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case 'up':
      return up(values, signal);
    case 'pod':
      return pod(rest, values, signal);
    case 'probe':
      return probe(rest, values);
    case 'agent':
      return agent(rest, values, signal);
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
    case 'down': {
      const lab = await LabCluster.attach(runDirOf(values));
      await lab.destroy();
      out(`lab in ${lab.runDir} removed`);
      return 0;
    }
    default:
      throw new UsageFailure(`unknown command "${command}"`);
  }
}

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort(new Error('interrupted'));
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
