/**
 * `calicoctl node status`: is Calico running, is BIRD running, and the BGP peers BIRD reports, as
 * calicoctl prints them (olekukonko/tablewriter tables). The peers come from `birdc show protocols`;
 * BIRD 2's table has capitalised headings and one daemon for both families, so each peer's family is
 * read from its protocol name (`Mesh_10_0_0_2` is IPv4, `Mesh_fd00__2` IPv6; a `_port_N` suffix is
 * dropped). Processes are found through an injected lister (default: /proc).
 */
import { readdir, readFile } from 'node:fs/promises';
import { parseIp } from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import type { RoutingCommandRunner } from './reloader.js';

export interface BirdProtocol {
  readonly name: string;
  readonly proto: string;
  readonly table: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

const HEADINGS = ['name', 'proto', 'table', 'state', 'since', 'info'];

/** Strips BIRD's reply codes (`2002-`, `1002-`, `0000`, leading space) when present (raw socket output). */
function stripCode(line: string): string | undefined {
  const coded = /^([0-9]{4})(?:([- ])(.*))?$/.exec(line);
  if (coded !== null) return coded[1] === '0000' || coded[1] === '0001' ? undefined : (coded[3] ?? '');
  return line.startsWith(' ') ? line.slice(1) : line;
}

/** Parses `show protocols` output (from birdc, or raw from the control socket). */
export function parseBirdProtocols(text: string): Result<BirdProtocol[], string> {
  const rows: BirdProtocol[] = [];
  let sawHeading = false;
  for (const raw of text.split('\n')) {
    const line = stripCode(raw.trimEnd());
    if (line === undefined || line.trim() === '' || /^BIRD [0-9.]+ ready\.$/.test(line.trim())) continue;
    const cols = line.trim().split(/\s+/);
    if (!sawHeading) {
      if (cols.map((c) => c.toLowerCase()).join(' ') !== HEADINGS.join(' ')) {
        return err(`unknown BIRD table output format: ${line.trim()}`);
      }
      sawHeading = true;
      continue;
    }
    if (cols.length < 5) return err(`unexpected output line from BIRD: ${line.trim()}`);
    let since = cols[4] ?? '';
    let rest = cols.slice(5);
    // An older "since" is a date and a time in two columns.
    if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(since) && /^[0-9]{2}:[0-9]{2}/.test(rest[0] ?? '')) {
      since = `${since} ${rest[0] ?? ''}`;
      rest = rest.slice(1);
    }
    rows.push({
      name: cols[0] ?? '',
      proto: cols[1] ?? '',
      table: cols[2] ?? '',
      state: cols[3] ?? '',
      since,
      info: rest.join(' '),
    });
  }
  if (!sawHeading) return err('unexpected output from BIRD: no protocol table');
  return ok(rows);
}

export type CalicoPeerType = 'node-to-node mesh' | 'node specific' | 'global';

export interface BgpPeerStatus {
  readonly family: 4 | 6;
  readonly peerAddress: string;
  readonly peerType: CalicoPeerType;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

const PEER_TYPES: Readonly<Record<string, CalicoPeerType>> = {
  Mesh: 'node-to-node mesh',
  Node: 'node specific',
  Global: 'global',
};

/** The BGP sessions among BIRD's protocols whose names follow Calico's scheme. */
export function bgpPeerStatuses(protocols: readonly BirdProtocol[]): BgpPeerStatus[] {
  return protocols.flatMap((p): BgpPeerStatus[] => {
    if (p.proto !== 'BGP') return [];
    const m = /^(Global|Node|Mesh)_(.+?)(?:_port_[0-9]+)?$/.exec(p.name);
    const peerType = PEER_TYPES[m?.[1] ?? ''];
    const encoded = m?.[2];
    if (peerType === undefined || encoded === undefined) return [];
    const v4 = encoded.replaceAll('_', '.');
    const v6 = encoded.replaceAll('_', ':');
    const family = parseIp(v4)?.family === 4 ? 4 : parseIp(v6)?.family === 6 ? 6 : undefined;
    if (family === undefined) return [];
    return [
      { family, peerAddress: family === 4 ? v4 : v6, peerType, state: p.state, since: p.since, info: p.info },
    ];
  });
}

const MAX_COL_WIDTH = 30;
const LONG_LINE_PENALTY = 100_000;

/** tablewriter's WrapWords: minimum-raggedness wrapping of words into lines of at most `lim`. */
function wrapWords(words: readonly string[], lim: number): string[] {
  const n = words.length;
  const len = (i: number, j: number): number =>
    words.slice(i, j + 1).reduce((s, w) => s + w.length, 0) + (j - i);
  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const brk = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (len(i, n - 1) <= lim) {
      cost[i] = 0;
      brk[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const d = lim - len(i, j - 1);
      const c = d * d + (cost[j] ?? 0) + (len(i, j - 1) > lim ? LONG_LINE_PENALTY : 0);
      if (c < (cost[i] ?? 0)) {
        cost[i] = c;
        brk[i] = j;
      }
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < n; i = brk[i] ?? n) lines.push(words.slice(i, brk[i] ?? n).join(' '));
  return lines;
}

function cellLines(text: string): string[] {
  if (text.length <= MAX_COL_WIDTH) return [text];
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lim = Math.max(MAX_COL_WIDTH, ...words.map((w) => w.length));
  return wrapWords(words, lim);
}

const NUMERIC = /^-?(?:[0-9]{1,3}(?:,[0-9]{3})*|[0-9]+)(?:\.[0-9]+)?$/;

function center(s: string, width: number): string {
  const gap = width - s.length;
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}

/** A table as calicoctl's tablewriter prints it: boxed, headings upper-cased and centred. */
export function formatTable(headings: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => r.map(cellLines));
  const widths = headings.map((h, c) =>
    Math.max(h.length, ...cells.map((r) => Math.max(0, ...(r[c] ?? []).map((l) => l.length)))),
  );
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const out = [
    rule,
    `|${headings.map((h, c) => ` ${center(h.toUpperCase(), widths[c] ?? 0)} `).join('|')}|`,
    rule,
  ];
  for (const row of cells) {
    const height = Math.max(1, ...row.map((l) => l.length));
    for (let i = 0; i < height; i++) {
      const parts = widths.map((w, c) => {
        const text = row[c]?.[i] ?? '';
        return ` ${NUMERIC.test(text.trim()) ? text.padStart(w) : text.padEnd(w)} `;
      });
      out.push(`|${parts.join('|')}|`);
    }
  }
  out.push(rule);
  return `${out.join('\n')}\n`;
}

export function formatPeerTable(peers: readonly BgpPeerStatus[]): string {
  return formatTable(
    ['Peer address', 'Peer type', 'State', 'Since', 'Info'],
    peers.map((p) => [p.peerAddress, p.peerType, p.state, p.since, p.info]),
  );
}

/** The argv of every process (what `ps` would show). */
export type ProcessLister = () => Promise<string[][]>;

/** Reads /proc/<pid>/cmdline of every process; processes that vanish meanwhile are skipped. */
export const procProcesses: ProcessLister = async () => {
  const pids = (await readdir('/proc')).filter((e) => /^[0-9]+$/.test(e));
  const all = await Promise.all(
    pids.map((pid) =>
      readFile(`/proc/${pid}/cmdline`, 'utf8').then(
        (s) => s.split('\0').filter((a) => a !== ''),
        () => [],
      ),
    ),
  );
  return all.filter((argv) => argv.length > 0);
};

function base(arg: string): string {
  return (arg.split('/').pop() ?? '').replace(/\.(js|ts|mjs)$/, '');
}

/** calico-node / calico-felix, by name or as a script (node .../calico-node.js). */
export function isCalicoProcess(argv: readonly string[]): boolean {
  return argv.slice(0, 2).some((a) => base(a) === 'calico-node' || base(a) === 'calico-felix');
}

export function isBirdProcess(argv: readonly string[]): boolean {
  return base(argv[0] ?? '') === 'bird' || base(argv[0] ?? '') === 'bird6';
}

export interface NodeStatusOptions {
  readonly runner: RoutingCommandRunner;
  readonly socketPath: string;
  readonly processes: ProcessLister;
  readonly birdcBinary?: string;
}

export interface NodeStatusReport {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

function familySection(peers: readonly BgpPeerStatus[], family: 4 | 6): string {
  const mine = peers.filter((p) => p.family === family);
  return `\nIPv${family} BGP status\n${mine.length === 0 ? `No IPv${family} peers found.\n` : formatPeerTable(mine)}`;
}

/** Everything `calicoctl node status` prints, and its exit code. */
export async function nodeStatusReport(options: NodeStatusOptions): Promise<NodeStatusReport> {
  const procs = await options.processes();
  if (!procs.some(isCalicoProcess))
    return { exitCode: 1, stdout: '', stderr: 'Calico process is not running.\n' };
  let stdout = 'Calico process is running.\n';
  if (!procs.some(isBirdProcess)) {
    return {
      exitCode: 0,
      stdout: `${stdout}\nThe BGP backend process (BIRD) is not running.\n\n`,
      stderr: '',
    };
  }
  const birdc = options.birdcBinary ?? 'birdc';
  const r = await options.runner.run(birdc, ['-s', options.socketPath, 'show', 'protocols'], {
    timeoutMs: 5_000,
  });
  if (r.code !== 0) {
    const why = `${r.stdout}${r.stderr}`.trim();
    return {
      exitCode: 0,
      stdout: `${stdout}\nIPv4 BGP status\nError querying BIRD: unable to connect to BIRDv4 socket: ${why}\n\n`,
      stderr: '',
    };
  }
  const parsed = parseBirdProtocols(r.stdout);
  if (!parsed.ok) return { exitCode: 1, stdout, stderr: `Error executing command: ${parsed.error}\n` };
  const peers = bgpPeerStatuses(parsed.value);
  stdout += familySection(peers, 4) + familySection(peers, 6) + '\n';
  return { exitCode: 0, stdout, stderr: '' };
}
