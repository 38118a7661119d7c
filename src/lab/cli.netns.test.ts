/**
 * The calico-lab CLI as a user runs it, one process per command (root, built agent; skipped with the reason
 * otherwise): `up` (idempotent, refusing a different mode), `pod add` through the CNI plugin, `probe`,
 * `exec`, `env`, `status`, `down` leaving nothing behind; `up --datastore etcd` reachable by calicoctl; an
 * `up` interrupted by SIGINT removing what it built; and the demo, whose every matrix must match Calico's
 * semantics.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { runCalicoctlProcess } from '../labkit/calicoctl.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { sleep } from '../labkit/concurrency.js';
import { kernelTestSkipReason, listNamespaces } from '../labkit/netns.js';
import { defaultAgentEntry } from '../labkit/paths.js';
import { nodeScriptCommand, siblingScript } from '../labkit/process.js';
import { statePath } from '../labkit/state.js';

const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'bird', 'birdc', 'etcd']) ||
  (existsSync(defaultAgentEntry()) ? false : `${defaultAgentEntry()} is missing (npm run build)`);
const main = nodeScriptCommand(siblingScript('main', import.meta.url));
const runner = new NodeCommandRunner();

function lab(runDir: string, ...args: string[]): { code: number; out: string } {
  const r = spawnSync(main.command, [...main.args, '--run-dir', runDir, ...args], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function ownerPrefix(runDir: string): string {
  const state = JSON.parse(readFileSync(statePath(runDir), 'utf8')) as { ownerPid: number };
  return `calts-lab-${state.ownerPid.toString(36)}-`;
}

async function namespacesWith(prefix: string): Promise<string[]> {
  return (await listNamespaces(runner)).filter((n) => n.startsWith(prefix));
}

describe('calico-lab CLI', { skip }, () => {
  const runDir = mkdtempSync(join(tmpdir(), 'calts-cli-'));
  let prefix = '';
  after(() => {
    if (existsSync(statePath(runDir))) lab(runDir, 'down');
    rmSync(runDir, { recursive: true, force: true });
  });

  test('up builds a VXLAN lab over two racks, and is idempotent', () => {
    const r = lab(runDir, 'up', '--nodes', '2', '--network', 'vxlan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /node-2: starting calico-node \(networking vxlan\): done/);
    assert.match(r.out, /cluster routes on every node: done/);
    assert.match(r.out, /networking vxlan, 2 rack\(s\)/);
    prefix = ownerPrefix(runDir);
    const again = lab(runDir, 'up', '--nodes', '2', '--network', 'vxlan');
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /a lab is up in .*; completing it/);
    assert.doesNotMatch(again.out, /starting calico-node/);
    const other = lab(runDir, 'up', '--network', 'bgp');
    assert.notEqual(other.code, 0);
    assert.match(other.out, /a lab with --network vxlan --datastore embedded is up/);
  });

  test('pods through the CNI plugin, probes across nodes and to the outside, exec, env, status', () => {
    const via = cniUnavailableReason() === false ? [] : ['--static'];
    const a = lab(runDir, 'pod', 'add', 'x/a', '--port', '80', '--labels', 'app=a', ...via);
    assert.equal(a.code, 0, a.out);
    const b = lab(runDir, 'pod', 'add', 'x/b', '--node', 'node-2', '--port', '80', ...via);
    assert.equal(b.code, 0, b.out);
    assert.match(b.out, /routed from every other node/);
    const ip = /pod x\/b on node-2 \([^)]*\): (\S+),/.exec(b.out)?.[1] ?? '';
    assert.match(ip, /^10\.244\./);
    for (const to of ['x/b', 'outside', ip]) {
      const p = lab(runDir, 'probe', 'x/a', to, '--port', '80');
      assert.equal(p.code, 0, p.out);
      assert.match(p.out, /: allowed/);
    }
    const refused = lab(runDir, 'probe', 'x/a', 'x/b', '--port', '81');
    assert.equal(refused.code, 1, refused.out);
    const routes = lab(runDir, 'exec', 'node-1', '--', 'ip', '-4', 'route', 'show');
    assert.equal(routes.code, 0, routes.out);
    assert.match(routes.out, /dev vxlan\.calico/);
    const addr = lab(runDir, 'exec', 'x/b', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0');
    assert.match(addr.out, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/32`));
    assert.equal(lab(runDir, 'exec', 'node-1', '--', 'false').code, 1);
    assert.match(lab(runDir, 'env').out, /^export DATASTORE_TYPE=embedded$/m);
    const status = lab(runDir, 'status');
    assert.match(status.out, /outside: 203\.0\.113\.10/);
    assert.match(status.out, /pod x\/a on node-1 .*endpoint programmed/);
  });

  test('down removes every namespace and the run dir', async () => {
    assert.ok((await namespacesWith(prefix)).length >= 6);
    const r = lab(runDir, 'down');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await namespacesWith(prefix), []);
    assert.equal(existsSync(statePath(runDir)), false);
  });

  test('up --datastore etcd: agents and calicoctl share a private etcd on a unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calts-cli-etcd-'));
    try {
      const r = lab(dir, 'up', '--nodes', '2', '--network', 'vxlan', '--datastore', 'etcd');
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /run dir, fabric and etcd: done/);
      const env = Object.fromEntries(
        [...lab(dir, 'env').out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
      );
      assert.equal(env.DATASTORE_TYPE, 'etcdv3');
      assert.match(env.ETCD_ENDPOINTS ?? '', /^unix:\/\/\//);
      const nodes = await runCalicoctlProcess(['get', 'nodes'], env);
      assert.equal(nodes.code, 0, nodes.output);
      assert.match(nodes.output, /node-1[\s\S]*node-2/);
      const owner = ownerPrefix(dir);
      assert.equal(lab(dir, 'down').code, 0);
      assert.deepEqual(await namespacesWith(owner), []);
    } finally {
      if (existsSync(statePath(dir))) lab(dir, 'down');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an up interrupted by SIGINT removes what it built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calts-cli-int-'));
    try {
      const child = spawn(
        main.command,
        [...main.args, '--run-dir', dir, 'up', '--nodes', '3', '--network', 'bgp'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => {
        child.once('exit', (code) => {
          resolve(code);
        });
      });
      for (let i = 0; i < 600 && !/node-2: starting calico-node/.test(out); i++) await sleep(50);
      const owner = ownerPrefix(dir);
      child.kill('SIGINT');
      const code = await exited;
      assert.notEqual(code, 0, out);
      assert.match(out, /SIGINT; cleaning up/);
      assert.deepEqual(await namespacesWith(owner), []);
      assert.equal(existsSync(statePath(dir)), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the demo runs end to end and every verdict matches', { skip: cniUnavailableReason() }, async () => {
    const child = spawn(main.command, [...main.args, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 240_000);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => {
        resolve(c);
      });
    });
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.match(out, /Step 3: Best practice/);
    assert.match(out, /Demo complete: every verdict matched Calico semantics\./);
    assert.doesNotMatch(out, /UNEXPECTED/);
    assert.match(out, /Mesh_172_31_1_2 .*Established|172\.31\.1\.2 .*node-to-node mesh .*Established/);
    assert.deepEqual(await namespacesWith(`calts-lab-${(child.pid ?? 0).toString(36)}-`), []);
  });
});
