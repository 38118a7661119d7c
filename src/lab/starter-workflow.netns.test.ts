/**
 * The workflow Calico users start from, verbatim, as the README shows it: `calico-lab up --kubernetes`, the
 * environment `calico-lab env` prints, then only the real `kubectl` (the control plane's release) and this
 * build's `calicoctl` and `calico-lab` commands, each a child process as a user's shell runs it:
 *
 *   kubectl create namespace production; kubectl create deployment (web :80 and dns :53 in production, a
 *   client in default); probes allowed
 *   kubectl apply -f examples/kubernetes/deny-all-ingress.yaml -> production isolated (probes denied), the
 *   client's own namespace still open; calicoctl get networkpolicies -n production shows
 *   knp.default.deny-all-ingress
 *   kubectl apply -f examples/kubernetes/allow-dns.yaml (projectcalico.org/v3, served by the lab's
 *   calico-apiserver) -> kubectl get globalnetworkpolicies lists allow-dns, so does kubectl get
 *   globalnetworkpolicies.crd.projectcalico.org, calicoctl get globalnetworkpolicies shows it; UDP 53 into
 *   production is allowed again, TCP 80 stays denied, and the client's other egress now ends at the end of
 *   the default tier (denied)
 *   calico-lab down -> no process, namespace or mount left.
 *
 * Skipped, with the reason, when the Kubernetes programs or the build are missing or this is not root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findKubeBinaries } from '../datastore/kubernetes/control-plane/binaries.js';
import { labLeftovers } from '../labkit/leftovers.js';
import { calicoctlScript } from '../labkit/calicoctl.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { nodeScriptCommand, siblingScript } from '../labkit/process.js';
import { statePath } from '../labkit/state.js';
import { repoRoot } from '../test-support/repo.js';

const found = findKubeBinaries();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'etcd', 'openssl', 'bird', 'birdc']) ||
  (found.ok ? false : found.reason) ||
  cniUnavailableReason();
if (skip !== false) console.log(`# skipped: ${skip}`);

const calicoLab = nodeScriptCommand(siblingScript('main', import.meta.url));
const calicoctlCmd = nodeScriptCommand(calicoctlScript());
const examples = join(repoRoot(), 'examples', 'kubernetes');

interface Ran {
  readonly code: number;
  readonly out: string;
}

function run(command: string, args: readonly string[], env: Record<string, string>): Ran {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('the starter workflow, verbatim, on calico-lab up --kubernetes', { skip, timeout: 900_000 }, () => {
  const runDir = mkdtempSync(join(tmpdir(), 'calts-starter-'));
  let env: Record<string, string> = { CALICO_LAB_DIR: runDir };
  const lab = (...args: string[]): Ran => run(calicoLab.command, [...calicoLab.args, ...args], env);
  const kubectl = (...args: string[]): Ran => {
    if (!found.ok) throw new Error(found.reason);
    return run(found.binaries.path('kubectl'), args, env);
  };
  const calicoctl = (...args: string[]): Ran =>
    run(calicoctlCmd.command, [...calicoctlCmd.args, ...args], env);
  const ok = (r: Ran, what: string): string => {
    assert.equal(r.code, 0, `${what}: ${r.out}`);
    return r.out;
  };
  after(() => {
    if (existsSync(statePath(runDir))) lab('down');
    rmSync(runDir, { recursive: true, force: true });
  });

  test('kubectl and calicoctl as a user runs them; probes show each verdict change; down leaves nothing', async () => {
    const t0 = performance.now();
    ok(lab('up', '--kubernetes'), 'calico-lab up --kubernetes');
    console.log(`# calico-lab up --kubernetes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // eval "$(calico-lab env)"
    for (const line of ok(lab('env'), 'calico-lab env').split('\n')) {
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (m !== null) env = { ...env, [m[1]!]: m[2]! };
    }
    assert.equal(env['DATASTORE_TYPE'], 'kubernetes');
    assert.equal(env['KUBECONFIG'], join(runDir, 'kubeconfig'));

    ok(kubectl('create', 'namespace', 'production'), 'create namespace');
    ok(
      kubectl(
        'create',
        'deployment',
        'web',
        '-n',
        'production',
        '--image=nginx',
        '--port=80',
        '--replicas=2',
      ),
      'web',
    );
    ok(
      kubectl('create', 'deployment', 'dns', '-n', 'production', '--image=coredns/coredns', '--port=53'),
      'dns',
    );
    ok(kubectl('create', 'deployment', 'client', '--image=busybox', '--port=8080'), 'client');
    ok(kubectl('rollout', 'status', '-n', 'production', 'deployment/web', '--timeout=180s'), 'web rollout');
    ok(kubectl('rollout', 'status', '-n', 'production', 'deployment/dns', '--timeout=180s'), 'dns rollout');
    ok(kubectl('rollout', 'status', 'deployment/client', '--timeout=180s'), 'client rollout');
    const name = (ns: string, app: string): string =>
      `${ns}/${ok(kubectl('get', 'pods', '-n', ns, '-l', `app=${app}`, '-o', 'jsonpath={.items[0].metadata.name}'), app).trim()}`;
    const web = name('production', 'web');
    const dns = name('production', 'dns');
    const client = name('default', 'client');
    const wide = ok(kubectl('get', 'pods', '-A', '-o', 'wide'), 'get pods');
    console.log(wide.trim().replace(/^/gm, '# '));

    const probe = (from: string, to: string, port: number, protocol = 'tcp'): string => {
      const r = lab(
        'probe',
        from,
        to,
        '--port',
        String(port),
        '--protocol',
        protocol,
        '--timeout-ms',
        '1500',
      );
      const verdict = /: (allowed|denied|refused|unreachable|no route) \(/.exec(r.out)?.[1];
      assert.ok(verdict !== undefined, `probe ${from} -> ${to}:${port}/${protocol}: ${r.out}`);
      assert.equal(r.code === 0, verdict === 'allowed', r.out);
      return verdict;
    };
    const matrix = (): Record<string, string> => ({
      'client->web tcp/80': probe(client, web, 80),
      'client->dns udp/53': probe(client, dns, 53, 'udp'),
      'web->client tcp/8080': probe(web, client, 8080),
    });
    assert.deepEqual(matrix(), {
      'client->web tcp/80': 'allowed',
      'client->dns udp/53': 'allowed',
      'web->client tcp/8080': 'allowed',
    });

    ok(kubectl('apply', '-f', join(examples, 'deny-all-ingress.yaml')), 'kubectl apply deny-all-ingress');
    ok(lab('sync'), 'calico-lab sync');
    assert.match(
      ok(calicoctl('get', 'networkpolicies', '-n', 'production'), 'calicoctl get networkpolicies'),
      /^production\s+knp\.default\.deny-all-ingress\s+default\s*$/m,
    );
    assert.deepEqual(matrix(), {
      'client->web tcp/80': 'denied',
      'client->dns udp/53': 'denied',
      'web->client tcp/8080': 'allowed',
    });

    assert.equal(
      ok(kubectl('apply', '-f', join(examples, 'allow-dns.yaml')), 'kubectl apply allow-dns').trim(),
      'globalnetworkpolicy.projectcalico.org/allow-dns created',
    );
    assert.match(
      ok(kubectl('get', 'globalnetworkpolicies'), 'kubectl get globalnetworkpolicies'),
      /^NAME\s+CREATED AT\nallow-dns\s/,
    );
    assert.match(
      ok(kubectl('get', 'globalnetworkpolicies.crd.projectcalico.org'), 'kubectl get gnp crd'),
      /^allow-dns\s/m,
    );
    assert.match(
      ok(calicoctl('get', 'globalnetworkpolicies'), 'calicoctl get gnp'),
      /^allow-dns\s+default\s*$/m,
    );
    ok(lab('sync'), 'calico-lab sync');
    assert.deepEqual(matrix(), {
      'client->web tcp/80': 'denied',
      'client->dns udp/53': 'allowed',
      'web->client tcp/8080': 'denied',
    });

    const { ownerPid } = JSON.parse(readFileSync(statePath(runDir), 'utf8')) as { ownerPid: number };
    const prefix = `calts-lab-${ownerPid.toString(36)}-`;
    ok(lab('down'), 'calico-lab down');
    assert.deepEqual(await labLeftovers({ runDir, prefix }), []);
  });
});
