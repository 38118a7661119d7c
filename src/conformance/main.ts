#!/usr/bin/env node
/**
 * calico-conformance: runs selector-vector files and NetworkPolicy truth-table files against a dataplane.
 *
 *   npm run conformance -- [--dataplane sim|nftables] [--ip-family 4|6] [--nodes N] [--network MODE]
 *                          [--pods cni|plumb] [--kubernetes] [--json FILE] FILE...
 *
 * Prints one line per failing case (its first mismatch, with the trace), a summary per file, and ends with
 * exactly `N passed, N failed`. Exit status 0 only when nothing failed; 2 on bad usage (or when the chosen
 * dataplane cannot run on this machine). One driver serves the whole run (the nftables lab is built once).
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { PodVia } from '../labkit/pods.js';
import { agentRouted, parseLabNetwork, type LabNetwork } from '../labkit/topology.js';
import { errorMessage } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { parseCase } from './cases.js';
import type { DataplaneDriver } from './driver.js';
import { KubernetesDriver, kubernetesUnavailableReason } from './kube-driver.js';
import { NftablesDriver, nftablesUnavailableReason } from './nftables-driver.js';
import { describeMismatch, runCase } from './runner.js';
import type { CaseResult } from './runner.js';
import { isSelectorVectorFile, runSelectorVectors } from './selector-vectors.js';
import type { VectorResult } from './selector-vectors.js';
import { SimDriver } from './sim.js';
import { POLICY_AGENTS, parsePolicyAgent, type PolicyAgent } from '../labkit/kube/peer.js';
import { FILE_MODE } from '../sys/files.js';

const USAGE = `Usage: calico-conformance [--dataplane sim|nftables] [--ip-family 4|6] [--json FILE] [--verbose]
                          [--nodes N] [--network MODE] [--pods cni|plumb] [--kubernetes [--agent NAME]] FILE...

  FILE               selector-vector files (JSON object) and NetworkPolicy case files (JSON array)
  --dataplane NAME   where cases run: sim (the reference evaluator; default), or nftables (the calico-ts
                     agent on the real kernel, in a lab of network namespaces; root, built agent)
  --ip-family 4|6    6 maps every a.b.c.d of a case to fd00::a.b.c.d and /n to /(96+n)
  --json FILE        write every result as JSON
  --verbose          also list passing cases

nftables only:
  --nodes N          lab nodes, pods spread over them (default 1)
  --network MODE     who routes pods between nodes: static (the lab; default), bgp (BIRD mesh),
                     vxlan, vxlan-crosssubnet (the agents; IPv4 only; vxlan is the default with
                     --kubernetes, which needs the agents to route)
  --pods cni|plumb   how pods get their network: cni (the calico CNI plugin and calico-ipam, with IP pools
                     created for the case addresses; default), or plumb (wired by the lab, no CNI)
  --kubernetes       through the Kubernetes API: a control plane (etcd, kube-apiserver, controller
                     manager, scheduler), a lab kubelet and calico-node on the Kubernetes datastore per
                     node; each case's Namespaces, Pods and NetworkPolicies are created through
                     kube-apiserver and the kubelets run the pods through the calico CNI plugin
                     (IPv4; needs scripts/build-kubernetes.sh and etcd-server)
  --agent NAME       with --kubernetes, who enforces the policies: calico-node (default), or
                     kube-network-policies, the upstream reference implementation, in its place (one node;
                     needs scripts/build-kube-network-policies.sh; docs/design/peer.md)
  --probe-timeout-ms MS  how long a denied connection is waited for (default 1000)
  --keep-lab         keep the lab's run dir (agent log, datastore) after the run`;

type FileReport =
  | { file: string; kind: 'selectors'; result: VectorResult }
  | { file: string; kind: 'netpol'; results: CaseResult[] }
  | { file: string; kind: 'error'; error: string };

class UsageFailure extends Error {}

interface DriverChoice {
  readonly name: string;
  readonly family: 4 | 6;
  readonly nodes: number;
  readonly network: LabNetwork;
  readonly pods: PodVia;
  readonly probeTimeoutMs: number;
  readonly keepLab: boolean;
  readonly kubernetes: boolean;
  readonly agent: PolicyAgent;
}

function makeDriver(c: DriverChoice): DataplaneDriver {
  if (c.name === 'sim') return new SimDriver();
  if (c.name === 'nftables' && c.kubernetes) {
    if (c.network === 'static')
      throw new UsageFailure('--kubernetes needs --network bgp, vxlan or vxlan-crosssubnet');
    return new KubernetesDriver({
      nodes: c.nodes,
      network: c.network,
      probeTimeoutMs: c.probeTimeoutMs,
      keepRunDir: c.keepLab,
      policyAgent: c.agent,
      log: (line) => process.stderr.write(`calico-conformance: ${line}\n`),
    });
  }
  if (c.name === 'nftables') {
    return new NftablesDriver({
      family: c.family,
      nodes: c.nodes,
      network: c.network,
      pods: c.pods,
      probeTimeoutMs: c.probeTimeoutMs,
      keepRunDir: c.keepLab,
      log: (line) => process.stderr.write(`calico-conformance: ${line}\n`),
    });
  }
  throw new UsageFailure(`unknown dataplane "${c.name}" (available: sim, nftables)`);
}

/** Parses a positive integer option. */
function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageFailure(`--${name} must be 1..${max}, not "${text}"`);
  return n;
}

function networkOption(text: string, family: 4 | 6): LabNetwork {
  const n = parseLabNetwork(text);
  if (n === undefined) throw new UsageFailure(`--network must be static, bgp, vxlan or vxlan-crosssubnet`);
  if (agentRouted(n) && family === 6)
    throw new UsageFailure(`--network ${n} routes IPv4 pools only; use --ip-family 4 (or --network static)`);
  return n;
}

function podsOption(text: string): PodVia {
  if (text !== 'cni' && text !== 'plumb')
    throw new UsageFailure(`--pods must be cni or plumb, not "${text}"`);
  return text;
}

/** `--kubernetes` runs the nftables dataplane, IPv4, with pods from the CNI plugin: anything else is refused. */
function checkKubernetesOptions(values: {
  readonly dataplane: string;
  readonly 'ip-family': string;
  readonly pods: string;
}): void {
  if (values.dataplane !== 'nftables') throw new UsageFailure('--kubernetes needs --dataplane nftables');
  if (values['ip-family'] !== '4')
    throw new UsageFailure('--kubernetes runs IPv4 cases only (--ip-family 4)');
  if (values.pods !== 'cni')
    throw new UsageFailure('--kubernetes runs pods through the lab kubelets and the CNI plugin (--pods cni)');
}

/** `--agent`: only with --kubernetes; calico-node unless named. */
function agentOption(text: string | undefined, kubernetes: boolean): PolicyAgent {
  if (text === undefined) return 'calico-node';
  if (!kubernetes) throw new UsageFailure('--agent needs --kubernetes');
  const agent = parsePolicyAgent(text);
  if (agent === undefined)
    throw new UsageFailure(`--agent must be ${POLICY_AGENTS.join(' or ')}, not "${text}"`);
  return agent;
}

function fail(line: string): void {
  process.stdout.write(`FAIL ${line}\n`);
}

async function runFile(
  file: string,
  driver: DataplaneDriver,
  family: 4 | 6,
  verbose: boolean,
  signal: AbortSignal,
): Promise<FileReport> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return { file, kind: 'error', error: `cannot read ${file}: ${errorMessage(e)}` };
  }
  const name = basename(file);
  if (isSelectorVectorFile(data)) {
    const result = runSelectorVectors(data as Record<string, unknown>);
    for (const f of result.failures) fail(`${name} ${f.where}: ${f.message}`);
    return { file, kind: 'selectors', result };
  }
  if (!Array.isArray(data))
    return { file, kind: 'error', error: `${file}: neither a selector-vector file nor a case array` };
  const cases = data.map((c, i) => parseCase(c, `${name}[${i}]`, family));
  const results: CaseResult[] = [];
  for (const c of cases) {
    const r = await runCase(c, driver, signal);
    results.push(r);
    if (r.error !== undefined) fail(`${name} ${r.id}: ${r.error}`);
    else if (r.mismatches[0] !== undefined) fail(`${name} ${r.id}: ${describeMismatch(r.mismatches[0])}`);
    else if (verbose) process.stdout.write(`ok   ${name} ${r.id} (${r.cellsJudged} cells)\n`);
  }
  return { file, kind: 'netpol', results };
}

function tally(reports: readonly FileReport[]): { passed: number; failed: number; skipped: number } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const r of reports) {
    if (r.kind === 'error') failed++;
    else if (r.kind === 'selectors') {
      passed += r.result.passed;
      failed += r.result.failed;
    } else {
      for (const c of r.results) {
        if (c.passed) passed++;
        else failed++;
        skipped += c.cellsSkipped;
      }
    }
  }
  return { passed, failed, skipped };
}

function printSummary(
  reports: readonly FileReport[],
  driverName: string,
  family: number,
  seconds: number,
): void {
  process.stdout.write(`\nconformance (dataplane ${driverName}, IPv${family}, ${seconds.toFixed(1)} s):\n`);
  for (const r of reports) {
    const name = basename(r.file);
    if (r.kind === 'error') process.stdout.write(`  ${name}: ERROR ${r.error}\n`);
    else if (r.kind === 'selectors') {
      process.stdout.write(
        `  ${name}: ${r.result.passed + r.result.failed} selector vectors, ${r.result.passed} passed, ${r.result.failed} failed\n`,
      );
    } else {
      const ok = r.results.filter((c) => c.passed).length;
      const cells = r.results.reduce((n, c) => n + c.cellsJudged, 0);
      const skipped = r.results.reduce((n, c) => n + c.cellsSkipped, 0);
      const reasons = [...new Set(r.results.flatMap((c) => c.skipReasons))];
      process.stdout.write(
        `  ${name}: ${r.results.length} cases (${cells} connections judged${skipped > 0 ? `, ${skipped} skipped: ${reasons.join('; ')}` : ''}), ${ok} passed, ${r.results.length - ok} failed\n`,
      );
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dataplane: { type: 'string', default: 'sim' },
      'ip-family': { type: 'string', default: '4' },
      json: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      nodes: { type: 'string', default: '1' },
      network: { type: 'string' },
      kubernetes: { type: 'boolean', default: false },
      agent: { type: 'string' },
      pods: { type: 'string', default: 'cni' },
      'probe-timeout-ms': { type: 'string', default: '1000' },
      'keep-lab': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageFailure('no input files');
  const familyText = values['ip-family'];
  if (familyText !== '4' && familyText !== '6')
    throw new UsageFailure(`--ip-family must be 4 or 6, not "${familyText}"`);
  const family = familyText === '6' ? 6 : 4;
  const kubernetes = values.kubernetes;
  if (kubernetes) checkKubernetesOptions(values);
  const agent = agentOption(values.agent, kubernetes);
  const choice: DriverChoice = {
    name: values.dataplane,
    family,
    nodes: positive('nodes', values.nodes, kubernetes ? 200 : 250),
    network: networkOption(values.network ?? (kubernetes ? 'vxlan' : 'static'), family),
    pods: podsOption(values.pods),
    probeTimeoutMs: positive('probe-timeout-ms', values['probe-timeout-ms'], 60_000),
    keepLab: values['keep-lab'],
    kubernetes,
    agent,
  };
  if (agent !== 'calico-node' && choice.nodes !== 1)
    throw new UsageFailure(
      `--agent ${agent} runs on one node (--nodes 1): calico-node routes pods between nodes`,
    );
  if (choice.name === 'nftables' && kubernetes) {
    const why = kubernetesUnavailableReason(undefined, agent);
    if (why !== false) throw new UsageFailure(`--dataplane nftables --kubernetes cannot run here: ${why}`);
  } else if (choice.name === 'nftables') {
    const why = nftablesUnavailableReason(undefined, choice.pods);
    if (why !== false) throw new UsageFailure(`--dataplane nftables cannot run here: ${why}`);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort(new Error('interrupted'));
  });
  const started = performance.now();
  const reports: FileReport[] = [];
  {
    // Disposed before the summary: the lab is gone (or its removal failed loudly) when the run ends.
    await using driver = makeDriver(choice);
    for (const file of positionals) {
      reports.push(await runFile(file, driver, family, values.verbose, controller.signal));
    }
  }
  printSummary(
    reports,
    kubernetes ? `${values.dataplane}, Kubernetes API, ${agent}` : values.dataplane,
    family,
    (performance.now() - started) / 1000,
  );
  const t = tally(reports);
  if (values.json !== undefined) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ dataplane: values.dataplane, ipFamily: family, ...t, files: reports }, null, 2)}\n`,
      { mode: FILE_MODE },
    );
  }
  if (t.skipped > 0) process.stdout.write(`${t.skipped} connections skipped (see above)\n`);
  process.stdout.write(`${t.passed} passed, ${t.failed} failed\n`);
  return t.failed === 0 ? 0 : 1;
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageFailure || (e instanceof Error && e.name === 'TypeError' && 'code' in e)) {
        process.stderr.write(`calico-conformance: ${e.message}\n${USAGE}\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`calico-conformance: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}
