/**
 * The agent's CNI server without a kernel: the socket (mode, framing, fallbacks, shutdown), the installed
 * wrapper talking to it through socat, calico-ipam in process giving the executable's result, the policy
 * wait on the agent's applied revision, and the dataplane loop's `whenApplied`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentHost, sameDatastore, type AgentPolicyView } from '../cni/agent-host.js';
import { MAX_REQUEST_BYTES, decodeResponse, encodeRequest } from '../cni/agent-protocol.js';
import { installCni } from '../cni/install.js';
import { calicoIpamPlugin } from '../cni/ipam-plugin.js';
import { runPlugin } from '../cni/skel.js';
import { SpawnerCommandRunner } from '../dataplane/exec/spawner.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { createNftablesDataplane } from '../dataplane/create.js';
import { FakeNft } from '../dataplane/nftables/testing/fake-nft.js';
import type { Backend, Resource } from '../datastore/api.js';
import { openBackend } from '../datastore/config.js';
import { IpamClient } from '../ipam/allocator.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { cniServerConfig, loopPolicyView, ownNetns, startCniServer, type CniServer } from './cni-server.js';
import { createLogger } from './log.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-cnisrv-'));
const distDir = join(repoRoot(), 'dist', 'src', 'cni');
const noWrapper = !existsSync(join(distDir, 'calico.js'))
  ? 'dist/ not built (npm run build)'
  : !['/usr/bin/socat', '/usr/bin/flock'].every((p) => existsSync(p))
    ? 'socat or flock not installed'
    : false;

interface Run {
  readonly code: number;
  readonly stdout: string;
}

function runFile(file: string, env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      [],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
      (e, stdout) => {
        if (e !== null && typeof e.code !== 'number') reject(new Error(e.message));
        else resolve({ code: typeof e?.code === 'number' ? e.code : 0, stdout });
      },
    );
    child.stdin?.end(stdin);
  });
}

/** One raw request on the socket; `hangUp` closes the connection right after sending. */
function rawRequest(socket: string, body: Buffer, hangUp = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const out: Buffer[] = [];
    s.on('data', (c: Buffer) => out.push(c));
    s.on('error', reject);
    s.on('close', () => {
      resolve(Buffer.concat(out).toString());
    });
    s.end(body, () => {
      if (hangUp) s.destroy();
    });
  });
}

/** A policy view whose applied revision and endpoints the test sets. */
class FakePolicy implements AgentPolicyView {
  appliedRevision = 0;
  readonly endpoints = new Set<string>();
  readonly #waiters = new Set<{ revision: number; resolve: (ok: boolean) => void }>();

  whenApplied(revision: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    if (this.appliedRevision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        this.#waiters.delete(w);
        clearTimeout(t);
        resolve(ok);
      };
      const w = { revision, resolve: done };
      const t = setTimeout(done, opts.timeoutMs, false);
      opts.signal?.addEventListener('abort', () => {
        done(false);
      });
      this.#waiters.add(w);
    });
  }

  hasEndpoint(namespace: string, name: string): boolean {
    return this.endpoints.has(`${namespace}/${name}`);
  }

  /** Whether someone waits for `revision` to be applied. */
  waitingFor(revision: number): boolean {
    return [...this.#waiters].some((w) => w.revision === revision);
  }

  apply(revision: number): void {
    this.appliedRevision = revision;
    for (const w of [...this.#waiters]) if (w.revision <= revision) w.resolve(true);
  }
}

describe('agent CNI server', { skip: noWrapper }, () => {
  const dbPath = join(dir, 'calico.db');
  const runDir = join(dir, 'run');
  const socketPath = join(runDir, 'cni.sock');
  const binDir = join(dir, 'bin');
  const logLines: string[] = [];
  const policy = new FakePolicy();
  let backend: Backend;
  let host: AgentHost;
  let server: CniServer;
  const spawner = new SpawnerCommandRunner();
  const netns = ownNetns() ?? 'unknown';

  const netconf = (over: Record<string, unknown> = {}): string =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'calico',
      datastore_type: 'embedded',
      datastore_path: dbPath,
      nodename: 'n1',
      log_file_path: join(dir, 'cni.log'),
      ipam: { type: 'calico-ipam' },
      ipam_lock_file: join(dir, 'ipam.lock'),
      endpoint_status_dir: join(runDir, 'endpoint-status'),
      ...over,
    });
  const podEnv = (command: string, cid: string): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: cid,
    CNI_NETNS: '/var/run/netns/calts-none',
    CNI_IFNAME: 'eth0',
    CNI_PATH: binDir,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${cid}`,
  });

  before(async () => {
    backend = await openBackend({ datastoreType: 'embedded', datastorePath: dbPath });
    await backend.applyMany([
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'p' },
        spec: { cidr: '10.80.0.0/16' },
      } as Resource,
    ]);
    installCni({ binDir, distDir, agentSocket: socketPath });
    host = new AgentHost({
      backend,
      datastore: { datastoreType: 'embedded', datastorePath: dbPath },
      nodeName: 'n1',
      runDir,
      policy,
      netns: ownNetns(),
      runner: spawner,
    });
    server = await startCniServer({
      socketPath,
      host,
      log: createLogger('debug', (l) => logLines.push(l)),
      onClosed: () => spawner.close(),
    });
  });

  after(async () => {
    await server.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads its socket path and switch from the environment', () => {
    assert.deepEqual(cniServerConfig({}, '/run/x'), { enabled: true, socketPath: '/run/x/cni.sock' });
    assert.deepEqual(cniServerConfig({ CALICO_CNI_SOCKET: '/s', CALICO_CNI_SERVER: 'False' }, '/r'), {
      enabled: false,
      socketPath: '/s',
    });
  });

  it('listens on a socket only its owner may use', () => {
    const st = statSync(socketPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('answers through the wrapper exactly as the standalone plugin does', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ CNI_COMMAND: 'VERSION' }, netconf()],
      [{ CNI_COMMAND: 'BOGUS' }, netconf()],
      [{ CNI_COMMAND: 'ADD' }, netconf()], // missing CNI_* variables: code 4
      [podEnv('ADD', 'x1'), '{not json'],
      [podEnv('DEL', 'never-added'), netconf()],
      [podEnv('ADD', 'x2'), `{"cniVersion":"1.0.0","x":${'['.repeat(1000)}${']'.repeat(1000)}}`], // code 6
      [{ ...podEnv('ADD', 'x3'), CNI_ARGS: 'K8S_POD_NAME' }, netconf()], // ARGS: invalid pair, 999
    ];
    for (const [env, stdin] of cases) {
      const before = logLines.filter((l) => l.includes('CNI request served')).length;
      const viaAgent = await runFile(join(binDir, 'calico'), env, stdin);
      const standalone = await runFile(join(binDir, 'calico'), { ...env, CALICO_CNI_SOCKET: '' }, stdin);
      assert.deepEqual(viaAgent, standalone, JSON.stringify(env));
      assert.equal(logLines.filter((l) => l.includes('CNI request served')).length, before + 1);
    }
  });

  it('leaves invocations that are not its own to the standalone plugin', async () => {
    const other = [
      { stdin: netconf({ datastore_path: join(dir, 'other.db') }), why: /datastore differs/ },
      { stdin: netconf({ nodename: 'n2' }), why: /node n2 is not the agent's n1/ },
    ];
    for (const o of other) {
      const resp = decodeResponse(
        await rawRequest(
          socketPath,
          encodeRequest({
            env: { CNI_COMMAND: 'STATUS', CNI_PATH: binDir },
            stdin: o.stdin,
            clientNetns: netns,
          }),
        ),
      );
      assert.ok(resp.ok && resp.value.kind === 'fallback' && o.why.test(resp.value.reason));
      // The wrapper then runs the plugin itself: same answer as without the agent.
      const env = { CNI_COMMAND: 'STATUS', CNI_PATH: binDir };
      assert.deepEqual(
        await runFile(join(binDir, 'calico'), env, o.stdin),
        await runFile(join(binDir, 'calico'), { ...env, CALICO_CNI_SOCKET: '' }, o.stdin),
      );
    }
    // A client in another network namespace (or one that does not say) would get its veth in the agent's.
    for (const clientNetns of ['net:[1]', undefined]) {
      const req = { env: { CNI_COMMAND: 'VERSION' }, stdin: '{}', ...(clientNetns ? { clientNetns } : {}) };
      assert.match(host.fallbackReason(req) ?? '', /network namespace/);
    }
    assert.match(await rawRequest(socketPath, Buffer.from('CNI_COMMAND=ADD')), /^fallback malformed/);
    // Too large to be a request: cut off unanswered (the wrapper runs the plugin, which refuses it).
    const huge = Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x20);
    assert.equal(await rawRequest(socketPath, huge).catch(() => ''), '');
  });

  it('runs calico-ipam in process with the result the executable prints', async () => {
    const ipam = new IpamClient(backend);
    const stdin = netconf();
    // The same handle twice: the second ADD returns the addresses the first assigned.
    for (const [first, cid] of [
      ['exec', 'ipam-a'],
      ['in-process', 'ipam-b'],
    ] as const) {
      const env = podEnv('ADD', cid);
      const exec = (): Promise<Run> => runFile(join(binDir, 'calico-ipam'), env, stdin);
      const inProcess = async (): Promise<Run> => {
        const out = await runPlugin(calicoIpamPlugin, { env, argv: [], stdin }, host);
        return { code: out.exitCode, stdout: out.stdout };
      };
      const a = first === 'exec' ? await exec() : await inProcess();
      const b = first === 'exec' ? await inProcess() : await exec();
      assert.equal(a.code, 0, a.stdout);
      assert.match(a.stdout, /"address":"10\.80\.\d+\.\d+\/32"/);
      assert.deepEqual(b, a);
      assert.equal((await ipam.ipsByHandle(`k8s-pod-network.${cid}`)).length, 1);
    }
    const del = await runPlugin(calicoIpamPlugin, { env: podEnv('DEL', 'ipam-a'), argv: [], stdin }, host);
    assert.deepEqual(del, { stdout: '', exitCode: 0 });
    assert.deepEqual(await ipam.ipsByHandle('k8s-pod-network.ipam-a'), []);
  });

  it('finishes a request whose client hung up (the runtime DEL cleans up after a dead ADD)', async () => {
    const ipam = new IpamClient(backend);
    const stdin = netconf();
    const added = await runFile(join(binDir, 'calico-ipam'), podEnv('ADD', 'gone'), stdin);
    assert.equal(added.code, 0);
    // The client sends a calico DEL and hangs up at once; the agent still releases the addresses.
    await rawRequest(
      socketPath,
      encodeRequest({ env: podEnv('DEL', 'gone'), stdin, clientNetns: netns }),
      true,
    );
    await waitFor(async () => (await ipam.ipsByHandle('k8s-pod-network.gone')).length === 0, {
      timeoutMs: 5000,
      what: 'the agent to release the hung-up DEL addresses',
    });
  });

  it('waits for policy on the applied revision, and through files for another status directory', async () => {
    const w = { statusDir: join(runDir, 'endpoint-status'), namespace: 'default', wepName: 'w1' };
    const waiting = host.waitForPolicy({ ...w, revision: 10, timeoutMs: 5000 });
    policy.apply(10); // applied, but the endpoint is not there yet: keeps waiting for a later revision
    await waitFor(() => policy.waitingFor(11), { timeoutMs: 5000, what: 'the host to wait for revision 11' });
    policy.endpoints.add('default/w1');
    policy.apply(11);
    assert.equal(await waiting, true);
    assert.equal(await host.waitForPolicy({ ...w, wepName: 'w2', revision: 5, timeoutMs: 100 }), false);
    const elsewhere = join(dir, 'elsewhere', 'endpoint-status');
    mkdirSync(join(elsewhere, 'default'), { recursive: true });
    writeFileSync(join(elsewhere, 'default', 'w3'), '{"appliedRevision":99}');
    assert.equal(
      await host.waitForPolicy({ ...w, statusDir: elsewhere, wepName: 'w3', revision: 50, timeoutMs: 1000 }),
      true,
    );
  });

  it('ends policy waits and removes its socket when it closes', async () => {
    const waiting = host.waitForPolicy({
      statusDir: join(runDir, 'endpoint-status'),
      namespace: 'default',
      wepName: 'never',
      revision: 1000,
      timeoutMs: 60_000,
    });
    const t0 = performance.now();
    await server.close();
    assert.equal(await waiting, false);
    assert.ok(performance.now() - t0 < 30_000);
    assert.equal(existsSync(socketPath), false);
    // Without the socket the wrapper runs the plugin itself.
    const v = await runFile(join(binDir, 'calico'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal((JSON.parse(v.stdout) as { cniVersion: string }).cniVersion, '0.4.0');
  });
});

describe('datastore identity', () => {
  it('compares embedded paths and etcd endpoints with their credentials', () => {
    const e = (p: string) => ({ datastoreType: 'embedded' as const, datastorePath: p });
    const etcd = (endpoints: string[], certFile?: string) => ({
      datastoreType: 'etcdv3' as const,
      etcd: { endpoints, ...(certFile === undefined ? {} : { certFile }) },
    });
    assert.ok(sameDatastore(e('/a/b.db'), e('/a/x/../b.db')));
    assert.ok(!sameDatastore(e('/a/b.db'), e('/a/c.db')));
    assert.ok(sameDatastore(etcd(['http://127.0.0.1:2379/', 'h:1']), etcd(['http://h:1', '127.0.0.1:2379'])));
    assert.ok(!sameDatastore(etcd(['h:1']), etcd(['h:2'])));
    assert.ok(!sameDatastore(etcd(['h:1']), etcd(['h:1'], '/c.pem')));
    assert.ok(!sameDatastore(e('/a'), etcd(['h:1'])));
  });
});

describe('dataplane loop whenApplied', () => {
  it('resolves once an apply covering the revision (and its hook) completed, false on timeout', async () => {
    const runner = new FakeCommandRunner();
    new FakeNft().install(runner);
    runner.on({ cmd: 'ip' }, { stdout: '[]' });
    runner.on({ cmd: 'sysctl' }, {});
    const hooked: number[] = [];
    const dataplane = createNftablesDataplane({
      runner,
      hostname: 'node1',
      birdProgramsNoEncap: false,
      refreshIntervalMs: 3_600_000,
      resyncSource: () => [],
      hooks: {
        onApplied: ({ revision }) => void hooked.push(revision),
        onFailure: () => undefined,
        onFatal: () => undefined,
      },
    });
    const loop = dataplane.loop;
    const controller = new AbortController();
    loop.start(controller.signal);
    const view = loopPolicyView(loop, () => dataplane.workloadEndpoints);
    const early = view.whenApplied(3, { timeoutMs: 10_000 });
    loop.onMessages([
      {
        kind: 'workloadEndpointUpdate',
        id: 'default/w1',
        endpoint: {
          namespace: 'default',
          name: 'w1',
          display: 'default/p1',
          interfaceName: 'cali0123456789a',
          ipv4Nets: ['10.0.0.1/32'],
          ipv6Nets: [],
          tiers: [],
          profileIds: [],
        },
      },
      { kind: 'inSync' },
      { kind: 'revision', revision: 3 },
    ]);
    assert.equal(await early, true);
    assert.ok(hooked.includes(3), 'the hook ran before the waiter was told');
    assert.equal(view.hasEndpoint('default', 'w1'), true);
    assert.equal(view.hasEndpoint('default', 'w2'), false);
    assert.equal(await view.whenApplied(2, { timeoutMs: 10 }), true);
    assert.equal(await view.whenApplied(4, { timeoutMs: 20 }), false);
    const pending = view.whenApplied(5, { timeoutMs: 60_000 });
    controller.abort();
    assert.equal(await pending, false);
    await loop.idle();
  });
});
