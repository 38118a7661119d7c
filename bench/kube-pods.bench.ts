/**
 * Pods created with `kubectl` → Running with their policy programmed, 10 at once, on a Kubernetes lab
 * (src/labkit/kube/cluster.ts: control plane with scheduler and controller manager, two nodes, a lab kubelet
 * and calico-node on the Kubernetes datastore per node).
 *
 * A NetworkPolicy selecting the pods is in place first, so an endpoint's status file (written by its node's
 * agent once the endpoint and its policy are in the kernel) means the pod's policy is programmed. Each round
 * `kubectl apply -f` creates 10 Pods in one command (the scheduler places them on the nodes); a pod's sample
 * runs from the command's start to the later of: the Pod seen Running and Ready with its address (a
 * `kubectl get pods -w` started once streams the changes; stamped on arrival) and its endpoint status file
 * present (checked every few ms). Then the pods are deleted and the bench waits until they and their
 * endpoint files are gone. Rounds repeat for a p99 over all pods. Where a pod's time went inside its CNI ADD
 * comes from the plugin's own log (`ADD phases (ms)` and `done ... ms=` lines of each node's cni.log).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { endpointStatusDir, endpointStatusPath } from '../src/cni/agent-status.js';
import { requireKubeBinaries } from '../src/datastore/kubernetes/control-plane/binaries.js';
import { KubeLab } from '../src/labkit/kube/cluster.js';
import { sleep, waitFor } from '../src/lib/async.js';
import { percentileRank } from '../src/lib/stats.js';
import { workloadEndpointName } from '../src/model/ids.js';
import type { BenchResult, BenchTable } from './result.js';

const PODS = 10;
const ROUNDS = Number(process.env.CALTS_BENCH_KUBE_ROUNDS ?? 10);
const NAMESPACE = 'bench';
const ROUND_TIMEOUT_MS = 120_000;
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

const SETUP = [
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`,
  // The pods' policy: ingress to port 80 from the namespace's pods only.
  'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n' +
    `metadata: {name: burst-ingress, namespace: ${NAMESPACE}}\n` +
    'spec:\n  podSelector: {matchLabels: {app: burst}}\n  policyTypes: [Ingress]\n' +
    '  ingress: [{from: [{podSelector: {}}], ports: [{port: 80, protocol: TCP}]}]\n',
].join('---\n');

function podsFile(round: number): string {
  return Array.from(
    { length: PODS },
    (_, i) =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: burst-${round}-${i}, namespace: ${NAMESPACE}, labels: {app: burst}}\n` +
      'spec: {containers: [{name: main, image: lab/probe, ports: [{containerPort: 80}]}]}\n',
  ).join('---\n');
}

/** What the watch last said of a pod, and when (bench clock) it was first seen Running and Ready. */
interface PodSeen {
  node: string;
  running?: number;
  gone?: number;
}

/** `kubectl get pods -w` in the bench namespace, one line per change, stamped on arrival. */
class PodWatch implements AsyncDisposable {
  readonly pods = new Map<string, PodSeen>();
  readonly #child: ChildProcessWithoutNullStreams;
  #stderr = '';

  constructor(kubeconfig: string, cacheDir: string) {
    const template =
      '{.metadata.name} {.spec.nodeName} {.status.phase} {.status.podIP} ' +
      '{.status.conditions[?(@.type=="Ready")].status} {.metadata.deletionTimestamp}{"\\n"}';
    this.#child = spawn(
      requireKubeBinaries().path('kubectl'),
      [
        ...['--kubeconfig', kubeconfig, '--cache-dir', cacheDir],
        ...['get', 'pods', '-n', NAMESPACE, '-w', '-o', `jsonpath=${template}`],
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    this.#child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const t = now();
      const [name, node, phase, ip, ready, deleting] = line.trim().split(/\s+/);
      if (name === undefined || name === '') return;
      const seen = this.pods.get(name) ?? { node: '' };
      if (node !== undefined && node !== '') seen.node = node;
      const up = phase === 'Running' && ip !== undefined && ip !== '' && ready === 'True';
      if (up && seen.running === undefined && deleting === undefined) seen.running = t;
      this.pods.set(name, seen);
    });
  }

  /** Why the watch is no longer useful, or undefined while it runs. */
  problem(): string | undefined {
    return this.#child.exitCode === null ? undefined : `kubectl get -w exited: ${this.#stderr.trim()}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((r) =>
      this.#child.once('exit', () => {
        r();
      }),
    );
    this.#child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }
}

interface PodSample {
  readonly running: number;
  readonly programmed: number;
  readonly both: number;
}

/** One round: 10 pods created by one `kubectl apply`, each timed until Running and programmed. */
async function round(k: KubeLab, watch: PodWatch, r: number, dir: string): Promise<PodSample[]> {
  const file = join(dir, `pods-${r}.yaml`);
  writeFileSync(file, podsFile(r));
  const names = Array.from({ length: PODS }, (_, i) => `burst-${r}-${i}`);
  const statusPath = (name: string, node: string): string | undefined => {
    const n = k.lab.nodes().find((x) => x.name === node);
    return n === undefined
      ? undefined
      : endpointStatusPath(
          endpointStatusDir(n.runDir),
          NAMESPACE,
          workloadEndpointName(node, 'k8s', name, 'eth0'),
        );
  };
  const programmed = new Map<string, number>();
  const started = now();
  await k.kubectlOk(['apply', '-f', file]);
  await waitFor(
    () => {
      const problem = watch.problem();
      if (problem !== undefined) throw new Error(problem);
      const t = now();
      for (const name of names) {
        const node = watch.pods.get(name)?.node ?? '';
        const path = node === '' ? undefined : statusPath(name, node);
        if (!programmed.has(name) && path !== undefined && existsSync(path)) programmed.set(name, t);
      }
      return names.every((n) => programmed.has(n) && watch.pods.get(n)?.running !== undefined);
    },
    {
      timeoutMs: ROUND_TIMEOUT_MS,
      intervalMs: 5,
      what: `round ${r}: ${PODS} pods Running with their endpoints programmed`,
      describe: () =>
        names
          .map((n) => `${n}: ${JSON.stringify(watch.pods.get(n))} programmed ${programmed.has(n)}`)
          .join('; '),
    },
  );
  const samples = names.map((n) => {
    const running = watch.pods.get(n)!.running! - started;
    const prog = programmed.get(n)! - started;
    return { running, programmed: prog, both: Math.max(running, prog) };
  });
  await k.kubectlOk(['delete', 'pods', '-n', NAMESPACE, '-l', 'app=burst', '--wait=true'], {
    timeoutMs: ROUND_TIMEOUT_MS,
  });
  await waitFor(
    () =>
      names.every((n) => {
        const node = watch.pods.get(n)?.node ?? '';
        const path = statusPath(n, node);
        return path === undefined || !existsSync(path);
      }),
    { timeoutMs: 60_000, what: `round ${r}: the deleted pods' endpoint status files to go` },
  );
  return samples;
}

/** The CNI ADD of each bench pod, from the nodes' cni.log: its phases (ms) and its total (`total`). */
function cniPhases(k: KubeLab): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (key: string, v: number): void => {
    out.set(key, [...(out.get(key) ?? []), v]);
  };
  for (const n of k.lab.nodes()) {
    const path = join(n.runDir, 'cni.log');
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.includes(`pod=${NAMESPACE}/burst-`) || !line.includes('cmd=ADD')) continue;
      if (line.includes('calico: ADD phases (ms)'))
        for (const m of line.matchAll(/ (datastore|ipam|veth|endpoint|policy)=(\d+)/g))
          add(m[1]!, Number(m[2]));
      const done = / calico: done .* ms=(\d+)/.exec(line);
      if (done !== null) add('total', Number(done[1]));
    }
  }
  return out;
}

const CNI_ROWS: readonly [string, string][] = [
  ['total', 'CNI ADD (calico plugin, start to result)'],
  ['datastore', '(of which) reading the Pod and Namespace from the API'],
  ['ipam', '(of which) calico-ipam'],
  ['veth', '(of which) veth and routes'],
  ['endpoint', '(of which) writing the pod-IP annotations'],
  ['policy', '(of which) waiting for the agent to program the endpoint'],
];

const r1 = (x: number): number => Math.round(x * 10) / 10;
const q = (xs: readonly number[], p: number): number => r1(percentileRank(xs, p));

export async function benchKubePods(): Promise<{ results: BenchResult[]; table: BenchTable }> {
  await using k = await KubeLab.start(2, { heartbeatMs: 2000 });
  await k.kubectlOk(['apply', '-f', '-'], { stdin: SETUP });
  // Pods are admitted once the controller manager made the namespace's default ServiceAccount.
  await waitFor(
    async () => (await k.kubectl(['get', 'serviceaccount', 'default', '-n', NAMESPACE])).code === 0,
    { timeoutMs: 60_000, intervalMs: 250, what: `the default ServiceAccount of ${NAMESPACE}` },
  );
  await k.sync();
  const samples: PodSample[] = [];
  {
    await using watch = new PodWatch(k.kubeconfig, join(k.runDir, 'kubectl-cache'));
    for (let r = 0; r < ROUNDS; r++) {
      samples.push(...(await round(k, watch, r, k.runDir)));
      process.stdout.write(`  .. round ${r + 1} of ${ROUNDS}: ${PODS} pods\n`);
    }
  }
  const cni = cniPhases(k);
  const col = (f: (s: PodSample) => number): number[] => samples.map(f);
  const both = col((s) => s.both);
  const results: BenchResult[] = [
    {
      name: `kubectl create → pod Running, policy programmed p50 (${PODS} at once)`,
      value: q(both, 50),
      unit: 'ms',
    },
    {
      name: `kubectl create → pod Running, policy programmed p99 (${PODS} at once)`,
      value: q(both, 99),
      unit: 'ms',
    },
  ];
  const row = (label: string, xs: readonly number[]): string[] => [
    label,
    `${q(xs, 50)} / ${q(xs, 99)}`,
    `${r1(Math.min(...xs))} / ${r1(Math.max(...xs))}`,
  ];
  const table: BenchTable = {
    title: `Pods from kubectl, ${PODS} at once`,
    note:
      `ms from the start of one \`kubectl apply\` creating ${PODS} Pods to each pod's milestone, over ${ROUNDS} ` +
      `rounds (${samples.length} pods) on a two-node Kubernetes lab (scheduler, lab kubelets, calico CNI, ` +
      'calico-node on KDD); a NetworkPolicy selects every pod. "Running" is the Pod seen Running and Ready with ' +
      'its address through a watch; "programmed" is its endpoint status file written by its node\'s agent ' +
      "(on KDD the agent sees the pod's endpoint once it is scheduled, before the CNI ADD gives it an address). " +
      "The CNI rows come from the plugin's log, one per pod.",
    header: ['milestone', 'p50 / p99', 'min / max'],
    rows: [
      row(
        'Pod Running and Ready',
        col((s) => s.running),
      ),
      row(
        'endpoint and policy programmed',
        col((s) => s.programmed),
      ),
      row('both (the sample)', both),
      ...CNI_ROWS.flatMap(([key, label]) => {
        const xs = cni.get(key);
        return xs === undefined || xs.length === 0 ? [] : [row(label, xs)];
      }),
    ],
  };
  return { results, table };
}
