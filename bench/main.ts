/**
 * `npm run bench`: runs every benchmark in one process, prints the figures, and rewrites
 * docs/benchmarks.md with them, the machine and the date. Never part of `npm test`.
 *
 *   npm run bench [-- --only selector,evaluator,...,kube,peer,differential,dns] [-- --no-write] [-- --update-sections]
 *
 * `--only` runs some suites (a suite's name or its group, e.g. `agent`) and writes nothing, unless
 * `--update-sections` is given: then only those suites' sections of docs/benchmarks.md are replaced, each
 * saying that it comes from a separate run, its date and the machine's load.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { benchColdStart } from './agent.bench.js';
import { benchCli } from './cli.bench.js';
import { benchCni } from './cni.bench.js';
import { benchDatastore } from './datastore.bench.js';
import { benchDifferential } from './differential.bench.js';
import { benchDns } from './dns.bench.js';
import { benchEvaluator } from './evaluator.bench.js';
import { benchGoldmane } from './goldmane.bench.js';
import { benchKube } from './kube.bench.js';
import { benchLab } from './lab.bench.js';
import { benchLatency } from './latency.bench.js';
import { CORES, MIN_ROUNDS, SPREAD_TOLERANCE } from './method.js';
import { benchPacketCost } from './packet-cost.bench.js';
import { benchFlowLogs } from './flowlogs.bench.js';
import { benchPeer } from './peer.bench.js';
import { benchSelectors } from './selector.bench.js';
import { meetsTarget, type BenchResult, type BenchTable, type SuiteOutput } from './result.js';

interface Suite {
  readonly name: string;
  /** `--only` also accepts this group name (e.g. `agent` for every calico-node suite). */
  readonly group?: string;
  readonly title: string;
  readonly run: () => Promise<SuiteOutput> | SuiteOutput;
}

const SUITES: Suite[] = [
  { name: 'selector', title: 'Selector evaluation', run: benchSelectors },
  { name: 'evaluator', title: 'Reference evaluator', run: benchEvaluator },
  { name: 'datastore', title: 'Datastore (embedded SQLite and etcd v3)', run: benchDatastore },
  { name: 'cli', title: 'calicoctl', run: benchCli },
  {
    name: 'latency',
    group: 'agent',
    title: 'calico-node programming latency (nftables dataplane, real kernel)',
    run: benchLatency,
  },
  {
    name: 'packet-cost',
    group: 'agent',
    title: 'calico-node packet cost (nftables dataplane, real kernel)',
    run: benchPacketCost,
  },
  { name: 'cold-start', group: 'agent', title: 'calico-node cold start (real kernel)', run: benchColdStart },
  { name: 'cni', title: 'CNI plugin (real kernel)', run: benchCni },
  { name: 'lab', title: 'calico-lab (multi-node networking, real kernel)', run: benchLab },
  {
    name: 'kube',
    title: 'Kubernetes: kubectl and the API path (kube-apiserver, real kernel)',
    run: benchKube,
  },
  {
    name: 'peer',
    title: 'Peer side by side: calico-node and kube-network-policies (kube-apiserver, real kernel)',
    run: benchPeer,
  },
  {
    name: 'differential',
    title: 'Differential: reference evaluator vs nftables dataplane (real kernel)',
    run: benchDifferential,
  },
  {
    name: 'dns',
    title: 'DNS policy: lookup latency and first connections (DelayDNSResponse, real kernel)',
    run: benchDns,
  },
  {
    name: 'flowlogs',
    group: 'agent',
    title: 'Flow logs: packet cost on vs off, and connection-to-flow delay (real kernel)',
    run: benchFlowLogs,
  },
  {
    name: 'goldmane',
    title: 'calico-goldmane: flow ingestion (gRPC) and memory per 100,000 flows',
    run: benchGoldmane,
  },
];

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    distro = os.platform();
  }
  return `${cpu}, ${os.availableParallelism()} cores, ${gib} GiB, ${distro}, kernel ${os.release()}, Node ${process.version}`;
}

/** The load average when the run started (1, 5 and 15 minutes): how much else the machine was doing. */
function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(', ');
}

/** Replaces the section `## title` (up to the next `## `) with `text`, or appends it. */
function replaceSection(doc: string, title: string, text: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) return `${doc.trimEnd()}\n\n${text}`;
  const next = doc.indexOf('\n## ', start + 1);
  return `${doc.slice(0, start + 1)}${text}${next < 0 ? '' : `\n${doc.slice(next + 1)}`}`;
}

function fmt(v: number): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 2 });
}

const READING =
  'Every ratio compares figures taken in that same run on the same machine; cross-node throughput is measured ' +
  'next to same-node and bare-veth throughput. The target column names the issue that sets a target and ' +
  'whether this run met it.';

/** How the packet-cost figures are taken (bench/method.ts), for the document. */
function methodText(): string {
  const cores =
    CORES.client === CORES.server
      ? `client and server both on core ${CORES.client} (one core only)`
      : `the load generator (iperf3 client, connection-rate client) on core ${CORES.client}, the servers on core ${CORES.server}; the agent, nft and everything else unpinned`;
  return (
    `Packet cost (and the lab's throughput paths) is measured in interleaved rounds: every configuration (no ` +
    `policy and each 1,000-policy shape; bare veth, same node and across nodes) runs once per round, in a Williams-design order (no configuration always first, last or after the same ` +
    `neighbour), after one discarded warm-up round, over at least ${MIN_ROUNDS} measured rounds; ${cores}. ` +
    `Each configuration is verified on entry by a sentinel connection that only its policies deny. A figure is ` +
    `the median over the rounds; a ratio is the median of the per-round ratios (both sides measured in the same ` +
    `round). The spread column gives the interquartile range (IQR) over the rounds and its larger half-width ` +
    `relative to the median; a ratio whose spread exceeds ±${SPREAD_TOLERANCE * 100} % is flagged as noisy, and ` +
    `one whose whole IQR lies above 1 is flagged as measuring noise (more rules cannot make packets faster).`
  );
}

function spreadCell(r: BenchResult): string {
  if (r.spread === undefined) return '';
  const { q1, q3, rounds, relative } = r.spread;
  const flags = (r.flags ?? []).map((f) => ` **${f}**`).join('');
  return `IQR ${fmt(q1)}–${fmt(q3)} (±${(relative * 100).toFixed(1)} %, ${rounds} rounds)${flags}`;
}

function tableText(t: BenchTable): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [
    `### ${t.title}`,
    '',
    t.note,
    '',
    line(t.header),
    line(t.header.map(() => '---')),
    ...t.rows.map(line),
    '',
  ].join('\n');
}

function targetCell(r: BenchResult): string {
  if (r.target === undefined) return '';
  const op = r.target.op === '<=' ? '≤' : '≥';
  return `${op} ${fmt(r.target.value)} (issue ${r.target.issue}): ${meetsTarget(r) ? 'met' : '**not met**'}`;
}

function selected(s: Suite, only: readonly string[] | undefined): boolean {
  return only === undefined || only.includes(s.name) || (s.group !== undefined && only.includes(s.group));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'update-sections': { type: 'boolean', default: false },
    },
  });
  const date = new Date().toISOString().slice(0, 10);
  const load = loadAverage();
  const only = values.only?.split(',');
  const unknown = only?.filter((o) => !SUITES.some((s) => s.name === o || s.group === o)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown suite(s): ${unknown.join(', ')}`);
  const sections: { title: string; text: string }[] = [];
  for (const s of SUITES) {
    if (!selected(s, only)) continue;
    process.stdout.write(`== ${s.title}\n`);
    const out = await s.run();
    const results = 'results' in out ? out.results : out;
    const tables = 'results' in out ? out.tables : [];
    const spread = results.some((r) => r.spread !== undefined);
    const rows = results.map(
      (r) =>
        `| ${r.name} | ${fmt(r.value)} ${r.unit} |${spread ? ` ${spreadCell(r)} |` : ''} ${targetCell(r)} |`,
    );
    for (const r of results)
      process.stdout.write(
        `  ${r.name}: ${fmt(r.value)} ${r.unit}${r.spread ? ` (${spreadCell(r)})` : ''}${r.target ? ` (${targetCell(r)})` : ''}\n`,
      );
    for (const t of tables) process.stdout.write(`${tableText(t)}\n`);
    const head = spread
      ? '| measurement | result | spread | target |\n|---|---|---|---|'
      : '| measurement | result | target |\n|---|---|---|';
    const separate =
      only === undefined
        ? ''
        : `_This section comes from a separate run of \`npm run bench -- --only ${only.join(',')}\` on ${date} (${machine()}), load average ${load} at the run's start and ${loadAverage()} at this suite's end; the rest of the page is from the run named at the top._\n\n`;
    sections.push({
      title: s.title,
      text: [`## ${s.title}\n\n${separate}${head}\n${rows.join('\n')}\n`, ...tables.map(tableText)].join(
        '\n',
      ),
    });
  }
  const file = new URL('../../docs/benchmarks.md', import.meta.url);
  if (values['no-write'] || (only !== undefined && !values['update-sections'])) return;
  if (only !== undefined) {
    let doc = readFileSync(file, 'utf8');
    for (const sec of sections) doc = replaceSection(doc, sec.title, sec.text);
    writeFileSync(file, doc);
    process.stdout.write(`updated ${sections.length} section(s) of docs/benchmarks.md\n`);
    return;
  }
  const doc = `# Benchmarks\n\nGenerated by \`npm run bench\` on ${date}.\n\nMachine: ${machine()}; load average ${load} (1, 5, 15 min) at the start of the run.\n\nAll figures below come from one run of the runner, side by side. ${READING}\n\n${methodText()}\n\n${sections.map((x) => x.text).join('\n')}`;
  writeFileSync(file, doc);
  process.stdout.write('wrote docs/benchmarks.md\n');
}

await main();
