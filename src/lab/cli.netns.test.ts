/**
 * The calico-lab CLI as a user runs it, one process per command (root, built agent; skipped with the reason
 * otherwise): `up` (idempotent, keeping the lab's settings, refusing other ones with a run-dir aware hint),
 * `pod add` through the CNI plugin, `probe`, `exec`, `env`, `status`; a `probe` running through an `agent
 * restart` leaves the new agent's pid in place (read-only commands never write the state); `sync` naming an
 * agent that is down; `logs` showing what a Log rule logged; `down --keep-logs` leaving nothing but the logs;
 * `up --datastore etcd` reachable by calicoctl; an `up` interrupted by SIGINT removing what it built; and the
 * demo, whose every matrix must match Calico's semantics.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { waitFor } from '../lib/async.js';
import { paramDef } from '../api/v3/felix-config-params.js';
import { runCalicoctlProcess } from '../labkit/calicoctl.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { kernelTestSkipReason, listNamespaces } from '../labkit/netns.js';
import { findTcpdump } from '../labkit/packet-log.js';
import { defaultAgentEntry } from '../labkit/paths.js';
import { nodeScriptCommand, siblingScript } from '../labkit/process.js';
import { statePath } from '../labkit/state.js';

const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'bird', 'birdc', 'etcd', 'flock']) ||
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

/** A calico-lab command in the background, its output collected, and its exit. */
function labChild(
  runDir: string,
  ...args: string[]
): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(main.command, [...main.args, '--run-dir', runDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return { child, out: () => out, exited };
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function labState(runDir: string): { ownerPid: number; nodes: { name: string; agentPid?: number }[] } {
  return JSON.parse(readFileSync(statePath(runDir), 'utf8')) as {
    ownerPid: number;
    nodes: { name: string; agentPid?: number }[];
  };
}

function ownerPrefix(runDir: string): string {
  return `calts-lab-${labState(runDir).ownerPid.toString(36)}-`;
}

async function namespacesWith(prefix: string): Promise<string[]> {
  return (await listNamespaces(runner)).filter((n) => n.startsWith(prefix));
}

/** The files process `pid` has open. */
function openFiles(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** Logs TCP/80 and drops TCP/9 on ingress to every pod; allows everything else. */
const POLICY = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: lab-cli-test
spec:
  selector: all()
  ingress:
    - action: Log
      protocol: TCP
      destination:
        ports: [80]
    - action: Deny
      protocol: TCP
      destination:
        ports: [9]
    - action: Allow
  egress:
    - action: Allow
`;

describe('calico-lab CLI', { skip }, () => {
  const runDir = mkdtempSync(join(tmpdir(), 'calts-cli-'));
  let prefix = '';
  after(() => {
    if (existsSync(statePath(runDir))) lab(runDir, 'down');
    rmSync(runDir, { recursive: true, force: true });
  });

  test('up builds a VXLAN lab over two racks; up again keeps its settings and says so', () => {
    const r = lab(runDir, 'up', '--nodes', '2', '--network', 'vxlan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /node-2: starting calico-node \(networking vxlan\): done/);
    assert.match(r.out, /cluster routes on every node: done/);
    assert.match(r.out, /networking vxlan, 2 rack\(s\)/);
    // The hint names the run dir: a bare `calico-lab env` would look in the default one.
    assert.match(r.out, new RegExp(`calicoctl: eval "\\$\\(calico-lab --run-dir ${esc(runDir)} env\\)"`));
    prefix = ownerPrefix(runDir);
    const again = lab(runDir, 'up');
    assert.equal(again.code, 0, again.out);
    assert.match(
      again.out,
      /a lab is up in .*; keeping its settings: networking vxlan, datastore embedded, 2 rack\(s\), 2 node\(s\), calico-node on every node/,
    );
    assert.doesNotMatch(again.out, /starting calico-node|creating a/);
    const other = lab(runDir, 'up', '--network', 'bgp');
    assert.notEqual(other.code, 0);
    assert.match(
      other.out,
      new RegExp(
        `the lab is up with --network vxlan; --network bgp needs a new lab \\(down first\\): a lab is up in ${esc(runDir)}; to start over: calico-lab --run-dir ${esc(runDir)} down`,
      ),
    );
    const none = mkdtempSync(join(tmpdir(), 'calts-cli-none-'));
    try {
      const s = lab(none, 'status');
      assert.equal(s.code, 1);
      assert.match(
        s.out,
        new RegExp(`no lab in ${esc(none)} \\(create one with: calico-lab --run-dir ${esc(none)} up\\)`),
      );
    } finally {
      rmSync(none, { recursive: true, force: true });
    }
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
    assert.match(refused.out, /: refused/);
    const routes = lab(runDir, 'exec', 'node-1', '--', 'ip', '-4', 'route', 'show');
    assert.equal(routes.code, 0, routes.out);
    assert.match(routes.out, /dev vxlan\.calico/);
    const addr = lab(runDir, 'exec', 'x/b', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0');
    assert.match(addr.out, new RegExp(`inet ${esc(ip)}/32`));
    assert.equal(lab(runDir, 'exec', 'node-1', '--', 'false').code, 1);
    assert.match(lab(runDir, 'env').out, /^export DATASTORE_TYPE=embedded$/m);
    const status = lab(runDir, 'status');
    assert.match(status.out, /outside: 203\.0\.113\.10/);
    assert.match(status.out, /pod x\/a on node-1 .*endpoint programmed/);
  });

  test('the cluster DNS: up started dnsmasq in kube-system/coredns; a pod with no policy looks names up and connects by name', async () => {
    const status = lab(runDir, 'status');
    assert.match(
      status.out,
      /cluster DNS: dnsmasq in kube-system\/coredns at 10\.244\.\S+:53, TTL 30 s: running \(pid \d+\)/,
    );
    assert.match(status.out, /pod kube-system\/coredns on node-2 .*labels k8s-app=kube-dns/);
    const byName = lab(runDir, 'probe', 'x/a', 'api.example.com', '--port', '80');
    assert.equal(byName.code, 0, byName.out);
    assert.match(
      byName.out,
      /x\/a -> api\.example\.com tcp\/80: allowed \(api\.example\.com is 203\.0\.113\.20 \(NOERROR from 10\.244\.\S+:53\); connected/,
    );
    const missing = lab(runDir, 'probe', 'x/a', 'nope.example.com', '--port', '80');
    assert.equal(missing.code, 1, missing.out);
    assert.match(missing.out, /nope\.example\.com: NXDOMAIN from /);
    const env = Object.fromEntries(
      [...lab(runDir, 'env').out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const fc = await runCalicoctlProcess(['get', 'felixconfiguration', 'default', '-o', 'yaml'], env);
    assert.equal(fc.code, 0, fc.output);
    assert.match(fc.output, /dnsTrustedServers:\n\s+- 10\.244\.\S+:53/);
  });

  test('a policy applied with calicoctl: a dropped port is denied', async () => {
    const env = Object.fromEntries(
      [...lab(runDir, 'env').out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const file = join(runDir, 'policy.yaml');
    writeFileSync(file, POLICY);
    const applied = await runCalicoctlProcess(['apply', '-f', file], env);
    assert.equal(applied.code, 0, applied.output);
    const sync = lab(runDir, 'sync');
    assert.equal(sync.code, 0, sync.out);
    assert.match(sync.out, /in sync at revision \d+/);
    const p = lab(runDir, 'probe', 'x/a', 'x/b', '--port', '9', '--timeout-ms', '500');
    assert.equal(p.code, 1, p.out);
    assert.match(p.out, /x\/a -> x\/b tcp\/9: denied \(no answer within 500 ms/);
  });

  test('a probe running through an agent restart leaves the new agent pid in the lab state', async () => {
    // A probe that is dropped for 20 s: it reads the state now and ends long after the restart.
    const probe = labChild(runDir, 'probe', 'x/a', 'x/b', '--port', '9', '--timeout-ms', '20000');
    const db = join(runDir, 'calico.db');
    await waitFor(() => openFiles(probe.child.pid ?? 0).includes(db), {
      timeoutMs: 30_000,
      what: 'the probe command to attach to the lab (open its datastore)',
      describe: probe.out,
    });
    const restart = lab(runDir, 'agent', 'restart', 'node-1');
    assert.equal(restart.code, 0, restart.out);
    const pid = Number(/agent node-1: restart done \(running, pid (\d+)\)/.exec(restart.out)?.[1]);
    assert.ok(pid > 0, restart.out);
    assert.equal(probe.child.exitCode, null, `the probe ended before the restart did: ${probe.out()}`);
    assert.equal(await probe.exited, 1, probe.out());
    assert.match(probe.out(), /: denied/);
    assert.equal(labState(runDir).nodes.find((n) => n.name === 'node-1')?.agentPid, pid);
    assert.match(
      lab(runDir, 'status').out,
      new RegExp(`node node-1: .*\\n  agent: running \\(pid ${pid}\\)`),
    );
  });

  test('sync names an agent that is down, with the command that starts it', () => {
    const stop = lab(runDir, 'agent', 'stop', 'node-2');
    assert.equal(stop.code, 0, stop.out);
    assert.match(stop.out, /agent node-2: stop done \(not running\)/);
    const sync = lab(runDir, 'sync');
    assert.equal(sync.code, 1, sync.out);
    assert.match(
      sync.out,
      new RegExp(
        `calico-node on node-2 is down: not running: never started, or stopped \\(log .*agent\\.log\\); start it: calico-lab --run-dir ${esc(runDir)} agent start node-2`,
      ),
    );
    assert.match(lab(runDir, 'status').out, /node node-2: .*\n {2}agent: down: not running/);
    assert.equal(lab(runDir, 'agent', 'start', 'node-2').code, 0);
    const again = lab(runDir, 'sync');
    assert.equal(again.code, 0, again.out);
  });

  test(
    'logs: the packets a Log rule matched, per node',
    { skip: findTcpdump() === undefined ? 'no tcpdump' : false },
    async (t) => {
      const ruleset = lab(runDir, 'exec', 'node-2', '--', 'nft', 'list', 'table', 'inet', 'calico');
      if (!/log prefix "calico-packet: ".* group 20/.test(ruleset.out)) {
        t.skip('the dataplane does not send Log rules to NFLOG group 20 yet (wip/dataplane)');
        return;
      }
      const ipA = labPodIp(runDir, 'x/a');
      const ipB = labPodIp(runDir, 'x/b');
      const follow = labChild(runDir, 'logs', 'node-2', '--follow');
      try {
        assert.equal(lab(runDir, 'probe', 'x/a', 'x/b', '--port', '80').code, 0);
        const line = `node-2 calico-packet: SRC=${ipA} DST=${ipB} PROTO=TCP`;
        await waitFor(() => lab(runDir, 'logs', 'node-2').out.includes(line), {
          timeoutMs: 10_000,
          what: `logs node-2 to show ${line}`,
          describe: () => lab(runDir, 'logs').out,
        });
        assert.match(lab(runDir, 'logs').out, new RegExp(esc(line)));
        await waitFor(() => follow.out().includes(line), {
          timeoutMs: 10_000,
          what: 'logs --follow',
          describe: follow.out,
        });
      } finally {
        follow.child.kill('SIGINT');
      }
      assert.equal(await follow.exited, 0, follow.out());
    },
  );

  test('down --keep-logs removes every namespace and keeps only the logs', async () => {
    assert.ok((await namespacesWith(prefix)).length >= 6);
    const r = lab(runDir, 'down', '--keep-logs');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await namespacesWith(prefix), []);
    assert.equal(existsSync(statePath(runDir)), false);
    assert.match(r.out, new RegExp(`its logs are kept in ${esc(runDir)} \\(\\d+ files`));
    for (const f of ['nodes/node-1/agent.log', 'nodes/node-2/agent.log', 'nodes/node-1/status.json']) {
      assert.ok(existsSync(join(runDir, f)), f);
      assert.match(r.out, new RegExp(esc(join(runDir, f))));
    }
    for (const gone of ['calico.db', 'lab.lock', 'policy.yaml'])
      assert.equal(existsSync(join(runDir, gone)), false, gone);
    assert.match(lab(runDir, 'down').out, /no lab in/);
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
      const up = labChild(dir, 'up', '--nodes', '3', '--network', 'bgp');
      await waitFor(() => /node-2: starting calico-node/.test(up.out()), {
        timeoutMs: 60_000,
        what: 'up to start the second agent',
        describe: up.out,
      });
      const owner = ownerPrefix(dir);
      up.child.kill('SIGINT');
      const code = await up.exited;
      assert.notEqual(code, 0, up.out());
      assert.match(up.out(), /SIGINT; cleaning up/);
      assert.deepEqual(await namespacesWith(owner), []);
      assert.equal(existsSync(statePath(dir)), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the demo runs end to end and every verdict matches', { skip: cniUnavailableReason() }, async () => {
    const demo = spawn(main.command, [...main.args, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // The bound of the whole demo: interrupted (it cleans up) if it runs longer.
    const timer = setTimeout(() => demo.kill('SIGINT'), 420_000);
    const code = await new Promise<number | null>((resolve) => {
      demo.once('exit', (c) => {
        resolve(c);
      });
    });
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.match(out, /Step 3: Best practice/);
    assert.match(out, /Step 4: DNS policy/);
    if (paramDef('dnsTrustedServers').use === undefined) {
      // Until the agent's DNS path lands, the step says why it does not run.
      assert.match(out, /Step 4: DNS policy.*\n=+\n {2}skipped: this calico-node does not learn names/);
    } else {
      assert.match(out, /default\/client +-> api\.example\.com \(203\.0\.113\.20\) +tcp\/80 +allow/);
      assert.match(out, /default\/client +-> evil\.test \(203\.0\.113\.66\) +tcp\/80 +DENY/);
    }
    assert.match(out, /Demo complete: every verdict matched Calico semantics\./);
    assert.doesNotMatch(out, /UNEXPECTED/);
    // Each step's flows, read back from the lab's calico-goldmane, name the deciding policy.
    assert.match(out, /Flows of this step/);
    assert.doesNotMatch(out, /no flow seen in time/);
    assert.match(
      out,
      /default\/client -> production\/web tcp\/80 +DENY +at ingress by end of tier default \(policy production\/deny-all-ingress\)/,
    );
    // The staged step: the matrix is unchanged, the pending verdict of client -> web differs.
    assert.match(out, /Step 5: Staged policy/);
    assert.match(
      out,
      /default\/client -> production\/web tcp\/80 +at ingress: enforced ALLOW, pending DENY by StagedGlobalNetworkPolicy lockdown-web \(tier default\) rule 0/,
    );
    assert.match(out, /Mesh_172_31_1_2 .*Established|172\.31\.1\.2 .*node-to-node mesh .*Established/);
    assert.deepEqual(await namespacesWith(`calts-lab-${(demo.pid ?? 0).toString(36)}-`), []);
  });
});

function labPodIp(runDir: string, key: string): string {
  const state = JSON.parse(readFileSync(statePath(runDir), 'utf8')) as {
    pods: { namespace: string; name: string; ip: string }[];
  };
  const p = state.pods.find((x) => `${x.namespace}/${x.name}` === key);
  assert.ok(p !== undefined, `no pod ${key} in the lab state`);
  return p.ip;
}
