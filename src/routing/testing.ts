/**
 * Test helpers for routing: reading a golden case (`testdata/golden/bird/<case>/input.yaml`) into a
 * RoutingInput, building resources in code, a scripted BIRD (FakeBird) and a recording logger. Used by
 * tests only.
 *
 * input.yaml holds: `nodeName`, optional `routerId` (CALICO_ROUTER_ID), optional `passwords` (map of
 * `<secret>/<key>` to password), optional `blocks` (`[{cidr, state}]` affine to the node), and
 * `resources` (Node, BGPConfiguration, BGPPeer, BGPFilter and IPPool documents).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { decodeResource, type Resource } from '../api/decode.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, Node } from '../api/v3/bgp-types.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { formatIssue } from '../lib/errors.js';
import type { DaemonHandle, DaemonLauncher } from './daemon.js';
import { StaticSecretSource } from './secrets.js';
import type { AffineBlock, RoutingInput, RoutingLogger, RoutingPool } from './types.js';

export function decodeOrThrow(doc: unknown): Resource {
  const r = decodeResource(doc);
  if (!r.ok)
    throw new Error(`invalid resource ${JSON.stringify(doc)}: ${r.error.map(formatIssue).join('; ')}`);
  return r.value;
}

/** Sorts decoded resources into the RoutingInput fields. */
export function routingInput(
  nodeName: string,
  resources: readonly Resource[],
  extra: Partial<Pick<RoutingInput, 'blocks' | 'routerId' | 'secrets'>> = {},
): RoutingInput {
  const of = (kind: string) => resources.filter((r) => r.kind === kind);
  return {
    nodeName,
    nodes: of('Node') as Node[],
    bgpConfigurations: of('BGPConfiguration') as BGPConfiguration[],
    bgpPeers: of('BGPPeer') as BGPPeer[],
    bgpFilters: of('BGPFilter') as BGPFilter[],
    ipPools: of('IPPool') as unknown as RoutingPool[],
    ...extra,
  };
}

interface CaseFile {
  nodeName?: unknown;
  routerId?: unknown;
  passwords?: Record<string, string>;
  blocks?: AffineBlock[];
  resources?: unknown[];
}

export function loadRoutingCase(inputPath: string): RoutingInput {
  const raw = parse(readFileSync(inputPath, 'utf8')) as CaseFile;
  if (typeof raw.nodeName !== 'string') throw new Error(`${inputPath}: nodeName is required`);
  const resources = (raw.resources ?? []).map(decodeOrThrow);
  return routingInput(raw.nodeName, resources, {
    ...(raw.blocks !== undefined ? { blocks: raw.blocks } : {}),
    ...(typeof raw.routerId === 'string' ? { routerId: raw.routerId } : {}),
    ...(raw.passwords !== undefined ? { secrets: new StaticSecretSource(raw.passwords) } : {}),
  });
}

const api = 'projectcalico.org/v3';

export function node(name: string, bgp: Record<string, unknown>, labels: Record<string, string> = {}): Node {
  return decodeOrThrow({ apiVersion: api, kind: 'Node', metadata: { name, labels }, spec: { bgp } }) as Node;
}

export function bgpPeer(name: string, spec: Record<string, unknown>): BGPPeer {
  return decodeOrThrow({ apiVersion: api, kind: 'BGPPeer', metadata: { name }, spec }) as BGPPeer;
}

export function bgpConfig(name: string, spec: Record<string, unknown>): BGPConfiguration {
  return decodeOrThrow({
    apiVersion: api,
    kind: 'BGPConfiguration',
    metadata: { name },
    spec,
  }) as BGPConfiguration;
}

export function bgpFilter(name: string, spec: Record<string, unknown>): BGPFilter {
  return decodeOrThrow({ apiVersion: api, kind: 'BGPFilter', metadata: { name }, spec }) as BGPFilter;
}

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps what it is given. */
export function recordingLogger(): RoutingLogger & { readonly records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (msg: string, fields: Record<string, unknown> = {}): void => {
      records.push({ level, msg, fields });
    };
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** How a launched fake BIRD behaves: answers on its socket, exits at once, or never answers. */
export type FakeStart = 'up' | 'exit' | 'silent';

/**
 * A scripted BIRD: `launcher` starts it (recorded in `launches`), `runner` answers `birdc` (show status,
 * configure, down), `bird -p` (rejecting texts containing "BAD") and `ip route show|flush proto bird`
 * (`leftRoutes` per family, as persist leaves them). `crash(code)` ends it as a crash would.
 */
export class FakeBird {
  readonly runner = new FakeCommandRunner();
  readonly launches: { readonly cmd: string; readonly args: readonly string[] }[] = [];
  readonly leftRoutes = { '-4': 0, '-6': 0 };
  start: FakeStart = 'up';
  running = false;
  #onLine: ((line: string) => void) | undefined;
  #exit: ((code: number) => void) | undefined;

  constructor() {
    this.runner.on({ cmd: 'birdc' }, (call) => {
      if (!this.running)
        return { code: 1, stderr: `Unable to connect to server control socket (${call.args[1] ?? ''})` };
      if (call.args[2] === 'down')
        queueMicrotask(() => {
          this.crash(0);
        });
      return { stdout: 'BIRD 2.0.12 ready.\n' };
    });
    this.runner.on({ cmd: 'bird', argsPrefix: ['-p', '-c'] }, (call) =>
      readFileSync(call.args[2] ?? '', 'utf8').includes('BAD')
        ? { code: 1, stderr: `bird: ${call.args[2] ?? ''}:1:1 syntax error` }
        : {},
    );
    this.runner.on({ cmd: 'ip', argsPrefix: [] }, (call) => {
      const family = call.args[0] === '-6' ? '-6' : '-4';
      if (call.args.includes('flush')) {
        this.leftRoutes[family] = 0;
        return {};
      }
      return { stdout: JSON.stringify(Array.from({ length: this.leftRoutes[family] }, () => ({}))) };
    });
  }

  readonly launcher: DaemonLauncher = {
    launch: (cmd, args, onLine): DaemonHandle => {
      this.launches.push({ cmd, args });
      this.#onLine = onLine;
      let running = true;
      const exited = new Promise<number>((resolve) => {
        this.#exit = (code) => {
          running = false;
          this.running = false;
          this.#exit = undefined;
          resolve(code);
        };
      });
      if (this.start === 'up') this.running = true;
      if (this.start === 'exit') {
        onLine('bird: Cannot create control socket: Address in use');
        this.crash(1);
      }
      return {
        pid: 4242,
        exited,
        get running() {
          return running;
        },
        kill: () => {
          this.crash(137);
        },
        detach: () => undefined,
      };
    },
  };

  /** A line printed by the running BIRD. */
  print(line: string): void {
    this.#onLine?.(line);
  }

  crash(code: number): void {
    this.#exit?.(code);
  }
}
