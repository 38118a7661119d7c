/**
 * calico-node's command line, as Calico's release binaries take it (node/cmd/calico-node/main.go, Go's `flag`
 * package): `-name`, `--name`, `-name=value`, `-name value` for non-boolean flags; parsing stops at the
 * first argument that is not a flag or after `--`; `-h`/`-help` print the usage; an unknown flag or a bad
 * value is an error that prints the usage. Errors and usage are returned as text, never printed here. Pure.
 */
import { parseGoDuration } from '../api/v3/felix-config-types.js';

type FlagKind = 'bool' | 'int' | 'string' | 'duration';

interface FlagDef {
  readonly kind: FlagKind;
  readonly usage: string;
  readonly default?: string;
}

/** calico-node's flags (v3.31), in Go's order (sorted by name when printed). */
export const CALICO_NODE_FLAGS = {
  v: { kind: 'bool', usage: 'Display version' },
  felix: { kind: 'bool', usage: 'Run Felix' },
  bpf: { kind: 'bool', usage: 'Run BPF debug tool' },
  init: { kind: 'bool', usage: 'Do privileged initialisation of a new node (mount file systems etc).' },
  'best-effort': {
    kind: 'bool',
    usage:
      'Used in combination with the init flag. Report errors but do not fail if an error occurs during initialisation.',
  },
  startup: { kind: 'bool', usage: 'Do non-privileged start-up routine.' },
  shutdown: { kind: 'bool', usage: 'Do shutdown routine.' },
  'monitor-addresses': { kind: 'bool', usage: 'Monitor change in node IP addresses' },
  'allocate-tunnel-addrs': { kind: 'bool', usage: 'Configure tunnel addresses for this node' },
  'allocate-tunnel-addrs-run-once': { kind: 'bool', usage: 'Run allocate-tunnel-addrs in oneshot mode' },
  'monitor-token': { kind: 'bool', usage: 'Watch for Kubernetes token changes, update CNI config' },
  'complete-startup': {
    kind: 'bool',
    usage: 'Update the NetworkUnavailable condition in Kubernetes on successful startup.',
  },
  'felix-live': { kind: 'bool', usage: 'Run felix liveness checks' },
  'bird-live': { kind: 'bool', usage: 'Run bird liveness checks' },
  'bird6-live': { kind: 'bool', usage: 'Run bird6 liveness checks' },
  'bird-ready': { kind: 'bool', usage: 'Run BIRD readiness checks' },
  'bird6-ready': { kind: 'bool', usage: 'Run BIRD6 readiness checks' },
  'felix-ready': { kind: 'bool', usage: 'Run felix readiness checks' },
  'threshold-time': { kind: 'duration', usage: 'Threshold time for bird readiness', default: '30s' },
  'status-reporter': { kind: 'bool', usage: 'Run node status reporter' },
  'show-status': { kind: 'bool', usage: 'Print out node status' },
  flows: {
    kind: 'int',
    usage: 'Fetch a number of Flows. Use a negative value to watch forever.',
    default: '0',
  },
  confd: { kind: 'bool', usage: 'Run confd' },
  'confd-run-once': { kind: 'bool', usage: 'Run confd in oneshot mode' },
  'confd-keep-stage-file': { kind: 'bool', usage: 'Keep stage file when running confd' },
  'confd-confdir': { kind: 'string', usage: 'Confd configuration directory.', default: '/etc/calico/confd' },
  'hostpath-init': { kind: 'bool', usage: 'Initialize hostpaths for non-root access' },
} as const satisfies Readonly<Record<string, FlagDef>>;

export type CalicoNodeFlag = keyof typeof CALICO_NODE_FLAGS;

/** The values given on the command line (absent: not given). */
export type FlagValues = { -readonly [K in CalicoNodeFlag]?: string };

export type FlagParse =
  | { readonly kind: 'ok'; readonly values: FlagValues; readonly args: readonly string[] }
  | { readonly kind: 'help'; readonly usage: string }
  | { readonly kind: 'error'; readonly error: string; readonly usage: string };

function typeName(kind: FlagKind): string {
  return kind === 'bool' ? '' : kind;
}

/** Go's FlagSet.PrintDefaults after `Usage of Calico:`. */
export function usageText(): string {
  const lines = ['Usage of Calico:'];
  for (const name of Object.keys(CALICO_NODE_FLAGS).sort()) {
    const def: FlagDef = CALICO_NODE_FLAGS[name as CalicoNodeFlag];
    let head = `  -${name}`;
    const t = typeName(def.kind);
    if (t !== '') head += ` ${t}`;
    head += head.length <= 4 ? '\t' : '\n    \t';
    let text = head + def.usage;
    if (def.default !== undefined && def.default !== '0' && def.default !== '') {
      text +=
        def.kind === 'string' ? ` (default ${JSON.stringify(def.default)})` : ` (default ${def.default})`;
    }
    lines.push(text);
  }
  return `${lines.join('\n')}\n`;
}

const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

function checkValue(name: string, kind: FlagKind, value: string): string | undefined {
  switch (kind) {
    case 'bool':
      return GO_TRUE.includes(value) || GO_FALSE.includes(value)
        ? undefined
        : `invalid boolean value ${JSON.stringify(value)} for -${name}: parse error`;
    case 'int':
      return /^[+-]?[0-9]+$/.test(value)
        ? undefined
        : `invalid value ${JSON.stringify(value)} for flag -${name}: parse error`;
    case 'duration':
      return parseGoDuration(value) !== undefined
        ? undefined
        : `invalid value ${JSON.stringify(value)} for flag -${name}: parse error`;
    case 'string':
      return undefined;
  }
}

export function parseFlags(argv: readonly string[]): FlagParse {
  const values: FlagValues = {};
  const fail = (error: string): FlagParse => ({ kind: 'error', error, usage: usageText() });
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg.length < 2 || !arg.startsWith('-')) break;
    if (arg === '--') {
      i++;
      break;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) return fail(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const def: FlagDef | undefined = Object.hasOwn(CALICO_NODE_FLAGS, name)
      ? CALICO_NODE_FLAGS[name as CalicoNodeFlag]
      : undefined;
    if (def === undefined) {
      if (name === 'help' || name === 'h') return { kind: 'help', usage: usageText() };
      return fail(`flag provided but not defined: -${name}`);
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (def.kind === 'bool') value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) return fail(`flag needs an argument: -${name}`);
      value = next;
      i++;
    }
    const problem = checkValue(name, def.kind, value);
    if (problem !== undefined) return fail(problem);
    values[name as CalicoNodeFlag] = value;
  }
  return { kind: 'ok', values, args: argv.slice(i) };
}

/** A boolean flag's value (Go's strconv.ParseBool spellings). */
export function flagSet(values: FlagValues, name: CalicoNodeFlag): boolean {
  const v = values[name];
  return v !== undefined && GO_TRUE.includes(v);
}

/** The threshold for -bird-ready (milliseconds). */
export function thresholdMs(values: FlagValues): number {
  return parseGoDuration(values['threshold-time'] ?? '30s') ?? 30_000;
}
