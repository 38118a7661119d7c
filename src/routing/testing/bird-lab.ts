/**
 * Test support for BGP on the real kernel: "nodes" as network namespaces on one L2 segment (a bridge in a
 * fabric namespace), `eth0 = 10.0.0.<i>/24`, each with its own BirdReloader (BIRD in the foreground through
 * `ip netns exec`, files and secrets under a temp dir) and a recording logger. Configurations are rendered
 * from resources with computeBgpView and renderBirdConfig, as the agent does. Everything (BIRD processes,
 * namespaces, temp dir) is removed on dispose, also after failures.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../api/decode.js';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { NetnsScope, runChecked, sweepStaleNamespaces } from '../../labkit/netns.js';
import { waitFor } from '../../lib/async.js';
import { spawnLauncher } from '../daemon.js';
import { computeBgpView } from '../model.js';
import { BirdReloader, type ReloadAction, type StopResult } from '../reloader.js';
import { renderBirdConfig } from '../render.js';
import { DirectorySecretSource } from '../secrets.js';
import { parseBirdProtocols, type BirdProtocol } from '../status.js';
import { decodeOrThrow, recordingLogger, routingInput } from '../testing.js';
import type { AffineBlock, BgpView } from '../types.js';

export const host = new NodeCommandRunner();
const api = 'projectcalico.org/v3';

export interface BirdLabNode {
  readonly name: string;
  readonly ip: string;
  readonly ns: string;
  readonly dir: string;
  readonly secretsDir: string;
  readonly reloader: BirdReloader;
  readonly log: ReturnType<typeof recordingLogger>;
}

/** A Node resource with an IPv4 BGP address (`<ip>/24`). */
export function nodeResource(name: string, ip: string): Resource {
  return decodeOrThrow({
    apiVersion: api,
    kind: 'Node',
    metadata: { name },
    spec: { bgp: { ipv4Address: `${ip}/24` } },
  });
}

export function poolResource(cidr: string): Resource {
  return decodeOrThrow({ apiVersion: api, kind: 'IPPool', metadata: { name: 'pods' }, spec: { cidr } });
}

export class BirdLab {
  readonly scope: NetnsScope;
  readonly tmp: string;
  readonly nodes = new Map<string, BirdLabNode>();
  readonly #prefix: string;
  #fabric = '';

  /** `prefix` is this suite's own namespace prefix (sweeping it never touches other suites). */
  constructor(prefix: string) {
    this.#prefix = prefix;
    this.scope = new NetnsScope(host, { prefix });
    this.tmp = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Creates the fabric and one namespace per node (each with a BirdReloader, used or not). */
  async setup(names: readonly { name: string; ip: string }[]): Promise<void> {
    // Best effort: leftovers of a crashed run of this suite (another process may delete them first).
    await sweepStaleNamespaces(host, this.#prefix).catch(() => []);
    this.#fabric = await this.scope.namespace();
    const fabric = this.scope.runner(this.#fabric);
    await runChecked(fabric, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await runChecked(fabric, 'ip', ['link', 'set', 'br0', 'up']);
    for (const [i, n] of names.entries()) {
      const ns = await this.scope.namespace();
      await this.scope.veth({ ns, name: 'eth0', address: `${n.ip}/24` }, { ns: this.#fabric, name: `p${i}` });
      await runChecked(fabric, 'ip', ['link', 'set', `p${i}`, 'master', 'br0']);
      const dir = join(this.tmp, n.name);
      const secretsDir = join(dir, 'secrets');
      mkdirSync(secretsDir, { recursive: true });
      const log = recordingLogger();
      const reloader = new BirdReloader({
        runner: this.scope.runner(ns),
        launcher: spawnLauncher({ prefix: ['ip', 'netns', 'exec', ns] }),
        log,
        configPath: join(dir, 'bird.cfg'),
        socketPath: join(dir, 'bird.ctl'),
        pidFile: join(dir, 'bird.pid'),
      });
      this.nodes.set(n.name, { name: n.name, ip: n.ip, ns, dir, secretsDir, reloader, log });
    }
  }

  node(name: string): BirdLabNode {
    const n = this.nodes.get(name);
    assert.ok(n !== undefined, `no node ${name}`);
    return n;
  }

  runner(name: string): CommandRunner {
    return this.scope.runner(this.node(name).ns);
  }

  /** The BGP view of `name` from `resources` (its secrets from its own secrets directory). */
  view(name: string, resources: readonly Resource[], blocks: readonly AffineBlock[] = []): BgpView {
    const v = computeBgpView(
      routingInput(name, resources, {
        blocks,
        secrets: new DirectorySecretSource(this.node(name).secretsDir),
      }),
    );
    assert.ok(v.ok, v.ok ? '' : v.error);
    return v.value;
  }

  /** Renders and applies `name`'s configuration. */
  async apply(
    name: string,
    resources: readonly Resource[],
    blocks: readonly AffineBlock[] = [],
  ): Promise<ReloadAction> {
    const r = await this.node(name).reloader.apply(renderBirdConfig(this.view(name, resources, blocks)));
    return r.action;
  }

  /** Writes `<secrets dir>/<secret>/<key>` of a node (`undefined` removes it). */
  setSecret(name: string, secret: string, key: string, value: string | undefined): void {
    const dir = join(this.node(name).secretsDir, secret);
    if (value === undefined) {
      rmSync(join(dir, key), { force: true });
      return;
    }
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, key), `${value}\n`, { mode: 0o600 });
  }

  async birdc(name: string, ...args: string[]): Promise<string> {
    const r = await this.runner(name).run('birdc', ['-s', join(this.node(name).dir, 'bird.ctl'), ...args], {
      timeoutMs: 5000,
    });
    return r.stdout;
  }

  async protocols(name: string): Promise<BirdProtocol[]> {
    const parsed = parseBirdProtocols(await this.birdc(name, 'show', 'protocols'));
    return parsed.ok ? parsed.value.filter((p) => p.proto === 'BGP') : [];
  }

  /** The names of `name`'s Established BGP sessions, sorted. */
  async established(name: string): Promise<string[]> {
    return (await this.protocols(name))
      .filter((p) => p.info.startsWith('Established'))
      .map((p) => p.name)
      .sort();
  }

  /** `ip route show <args>` in the node's namespace, each line trimmed. */
  async routes(name: string, ...args: string[]): Promise<string> {
    const out = await runChecked(this.runner(name), 'ip', ['route', 'show', ...args]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join('\n');
  }

  /** The node's `proto bird` routes (both families), as `ip route show` prints them, sorted. */
  async birdRoutes(name: string): Promise<string[]> {
    const v6 = await runChecked(this.runner(name), 'ip', ['-6', 'route', 'show']);
    return [...(await this.routes(name)).split('\n'), ...v6.split('\n').map((l) => l.trim())]
      .filter((l) => / proto bird\b/.test(l))
      .sort();
  }

  /** A TcpExt counter of the node's namespace (e.g. TCPMD5Failure). */
  async tcpExt(name: string, counter: string): Promise<number> {
    const text = await runChecked(this.runner(name), 'cat', ['/proc/net/netstat']);
    const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
    const keys = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    return Number(values[keys.indexOf(counter)] ?? NaN);
  }

  /** Waits (bounded) until `check` holds, failing with what `describe` says. */
  async eventually(
    what: string,
    check: () => Promise<boolean>,
    describe: () => Promise<string> = () => Promise.resolve(''),
    timeoutMs = 45_000,
  ): Promise<void> {
    await waitFor(check, { timeoutMs, intervalMs: 250, what, describe });
  }

  async stop(name: string): Promise<StopResult> {
    return this.node(name).reloader.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      for (const n of this.nodes.values()) await n.reloader.stop().catch(() => undefined);
      await this.scope[Symbol.asyncDispose]();
    } finally {
      rmSync(this.tmp, { recursive: true, force: true });
    }
  }
}
