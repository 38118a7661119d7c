/**
 * Fail closed on bad stored data, on the real kernel, with the embedded store and with etcd: an agent
 * enforces a default-deny between two pods while a forbidden probe runs over and over; the stored
 * default-deny is corrupted (invalid JSON, then a JSON value that fails validation), the agent restarts over
 * a corrupted store, and (etcd) the datastore goes away. The probe must stay denied throughout, the agent
 * alive, and status.json, /readiness and the felix_datastore_* metrics must say what is wrong.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NODE_ETCD_ENDPOINT, startEtcdRelay } from '../cni/testing/harness.js';
import { etcdSkipReason, startTestEtcd, type TestEtcd } from '../datastore/etcd/test-etcd.js';
import { openBackend, type Resource, type ResourceKey } from '../datastore/index.js';
import { writeRawValue } from '../datastore/testing/raw.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import type { DatastoreStatus } from '../cni/agent-status.js';
import { AgentHarness, namespaceObject, type TestPod } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

const DENY_KEY: ResourceKey = { kind: 'GlobalNetworkPolicy', name: 'default-deny' };
const DENY_TEXT = 'GlobalNetworkPolicy(default-deny)';
const defaultDeny = (): Resource =>
  ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'default-deny' },
    spec: { selector: 'all()', types: ['Ingress'] },
  }) as Resource;

const FETCH = `
const [url] = process.argv.slice(1);
fetch(url).then(async (r) => { console.log(JSON.stringify({ status: r.status, body: await r.text() })); })
  .catch((e) => { console.log(JSON.stringify({ status: 0, body: String(e) })); });
`;

/** The chain names of our table, sorted. */
function chains(table: string): string[] {
  return [...table.matchAll(/^\tchain (\S+) \{/gm)].map((m) => m[1] ?? '').sort();
}

/** Probes a -> b:80 back to back (each bounded) until stopped; at most `max` probes. */
class ProbeLoop {
  readonly results: boolean[] = [];
  readonly #h: AgentHarness;
  readonly #from: TestPod;
  readonly #to: TestPod;
  #stopped = false;
  #done: Promise<void> | undefined;
  constructor(h: AgentHarness, from: TestPod, to: TestPod) {
    this.#h = h;
    this.#from = from;
    this.#to = to;
  }
  start(max = 400): void {
    this.#done = (async () => {
      while (!this.#stopped && this.results.length < max) {
        const r = await this.#h.scope.probe(
          this.#from.ns,
          { protocol: 'tcp', address: this.#to.ip, port: 80 },
          { timeoutMs: 400 },
        );
        this.results.push(r.connected);
      }
    })();
  }
  /** Waits until `n` more probes have run (the observation period), bounded. */
  async observe(n: number, what: string): Promise<void> {
    const target = this.results.length + n;
    await waitFor(() => this.results.length >= target, { timeoutMs: 60_000, what });
  }
  async stop(): Promise<boolean[]> {
    this.#stopped = true;
    await this.#done;
    return this.results;
  }
}

interface Target {
  readonly name: string;
  readonly skip: string | false;
  readonly etcd: boolean;
}

function suite(target: Target): void {
  describe(`fail closed on bad stored data: ${target.name}`, { skip: target.skip, timeout: 600_000 }, () => {
    const h = new AgentHarness();
    let etcd: TestEtcd | undefined;
    let relay: { [Symbol.asyncDispose](): Promise<void> } | undefined;
    let a: TestPod;
    let b: TestPod;
    const agentEnv = (): Record<string, string> => ({
      FELIX_HEALTHENABLED: 'true',
      FELIX_HEALTHHOST: '127.0.0.1',
      FELIX_PROMETHEUSMETRICSENABLED: 'true',
      ...(target.etcd ? { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: NODE_ETCD_ENDPOINT } : {}),
    });
    const config = () =>
      etcd === undefined
        ? ({ datastoreType: 'embedded', datastorePath: h.dbPath } as const)
        : ({ datastoreType: 'etcdv3', etcd: { endpoints: [etcd.endpoint] } } as const);

    const datastoreStatus = (): DatastoreStatus | undefined => {
      try {
        const s = JSON.parse(readFileSync(join(h.runDir, 'status.json'), 'utf8')) as {
          datastore?: DatastoreStatus;
        };
        return s.datastore;
      } catch {
        return undefined;
      }
    };
    const get = async (path: string, port: number): Promise<{ status: number; body: string }> => {
      const r = await h.scope
        .runner(h.node)
        .run(process.execPath, ['-e', FETCH, `http://127.0.0.1:${port}${path}`], { timeoutMs: 10_000 });
      return JSON.parse(r.stdout) as { status: number; body: string };
    };
    const metric = async (name: string): Promise<number> => {
      const body = (await get('/metrics', 9091)).body;
      const line = body.split('\n').find((l) => l.startsWith(`${name} `));
      assert.ok(line !== undefined, `metric ${name} missing`);
      return Number(line.split(' ')[1]);
    };
    const reach = async (): Promise<boolean> =>
      (await h.scope.probe(a.ns, { protocol: 'tcp', address: b.ip, port: 80 }, { timeoutMs: 700 })).connected;
    const agentAlive = (): boolean => {
      const pid = h.agentPid();
      if (pid === undefined) return false;
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const heldDeny = (): DatastoreStatus['invalidResources'][number] | undefined =>
      datastoreStatus()?.invalidResources.find((r) => r.key === DENY_TEXT);
    const describeState = (): string =>
      `status ${JSON.stringify(datastoreStatus())}; agent log tail:\n${h.agentLog().split('\n').slice(-8).join('\n')}`;

    before(async () => {
      await h.setup();
      if (target.etcd) {
        etcd = await startTestEtcd();
        relay = await startEtcdRelay(etcd.endpoint, h.node, join(h.dir, 'etcd.sock'));
        await h.backend.close();
        h.backend = await openBackend(config());
      }
      a = await h.plumbPod('x', 'a', '10.67.0.1', { app: 'a' });
      b = await h.plumbPod('x', 'b', '10.67.0.2', { app: 'b' });
      for (const o of [namespaceObject('x'), h.workloadEndpoint(a), h.workloadEndpoint(b)]) await h.put(o);
      await h.scope.listen(b.ns, { protocol: 'tcp', address: b.ip, port: 80 });
      h.startAgent(agentEnv());
      await h.settle(30_000);
    });
    after(async () => {
      await h[Symbol.asyncDispose]();
      await relay?.[Symbol.asyncDispose]();
      await etcd?.dispose();
    });

    it('allowed without policy, denied by the default-deny; ready', async () => {
      assert.equal(await reach(), true, 'a -> b before any policy');
      await h.put(defaultDeny());
      await h.settle();
      assert.equal(await reach(), false, 'a -> b denied');
      assert.equal((await get('/readiness', 9099)).status, 200);
      assert.deepEqual(datastoreStatus()?.invalidResources, []);
      assert.equal(datastoreStatus()?.inSync, true);
    });

    it('invalid JSON over the default-deny: still denied, reported everywhere; fixed: ready again', async () => {
      const good = Number((await h.backend.get(DENY_KEY)).metadata.resourceVersion);
      const probes = new ProbeLoop(h, a, b);
      probes.start();
      try {
        await probes.observe(2, 'probes before the corruption');
        const bad = await writeRawValue(
          config(),
          DENY_KEY,
          '{"apiVersion": "projectcalico.org/v3", "kind": "Glob',
        );
        await waitFor(() => heldDeny()?.revision === bad, {
          timeoutMs: 15_000,
          what: 'status.json to name the corrupted default-deny',
          describe: describeState,
        });
        assert.equal(heldDeny()?.lastGoodRevision, good);
        assert.match(heldDeny()?.problem ?? '', /^invalid JSON/);
        await h.settle(); // the agent keeps processing other updates
        await probes.observe(8, 'the observation period');
        const ready = await get('/readiness', 9099);
        assert.equal(ready.status, 503);
        assert.match(
          ready.body,
          new RegExp(
            `${DENY_TEXT.replace(/[()]/g, '\\$&')} revision ${bad} is invalid \\(held at its last good version, revision ${good}\\): invalid JSON`,
          ),
        );
        assert.equal(await metric('felix_datastore_invalid_resources'), 1);
        assert.ok((await metric('felix_datastore_invalid_updates_total')) >= 1);
        assert.equal(agentAlive(), true, 'the agent is alive');
        const log = h.agentLog();
        assert.equal(
          log
            .split('\n')
            .filter((l) => l.includes('invalid datastore resource') && l.includes(`"revision":${bad}`))
            .length,
          1,
          'logged once, naming the key',
        );
        assert.match(log, /"key":"GlobalNetworkPolicy\(default-deny\)"/);

        // Fixed (a valid default-deny written again): nothing held back, ready, still denied.
        await h.put(defaultDeny());
        await waitFor(() => datastoreStatus()?.invalidResources.length === 0, {
          timeoutMs: 15_000,
          what: 'the fix to clear the report',
          describe: describeState,
        });
        await h.settle();
        await waitFor(async () => (await get('/readiness', 9099)).status === 200, {
          timeoutMs: 15_000,
          what: 'ready',
        });
        await probes.observe(2, 'probes after the fix');
      } finally {
        const results = await probes.stop();
        assert.deepEqual(
          results.filter((c) => c),
          [],
          `every one of ${results.length} probes was denied`,
        );
      }
      assert.equal(await metric('felix_datastore_invalid_resources'), 0);
    });

    it('a JSON value that fails validation: still denied, reported; deleted: allowed as expected', async () => {
      const probes = new ProbeLoop(h, a, b);
      probes.start();
      let bad = 0;
      try {
        const current = await h.backend.get(DENY_KEY);
        bad = Number(
          (
            await h.backend.update({
              ...current,
              spec: { selector: 'all( && app ==', types: ['Sideways'] },
            } as Resource)
          ).metadata.resourceVersion,
        );
        await waitFor(() => heldDeny()?.revision === bad, {
          timeoutMs: 15_000,
          what: 'status.json to name the invalid default-deny',
          describe: describeState,
        });
        assert.match(heldDeny()?.problem ?? '', /^invalid GlobalNetworkPolicy: .*spec\.selector/);
        await h.settle();
        await probes.observe(8, 'the observation period');
        assert.equal((await get('/readiness', 9099)).status, 503);
        assert.equal(agentAlive(), true);
      } finally {
        const results = await probes.stop();
        assert.deepEqual(
          results.filter((c) => c),
          [],
          `every one of ${results.length} probes was denied`,
        );
      }
      await h.remove(defaultDeny());
      await waitFor(() => datastoreStatus()?.invalidResources.length === 0, {
        timeoutMs: 15_000,
        what: 'cleared',
      });
      await h.settle();
      assert.equal(await reach(), true, 'the policy is really gone: a -> b allowed again');
      assert.ok(h.agentLog().includes('invalid datastore resource was deleted'));
    });

    it('an agent restarted over a corrupted default-deny applies its last good version from the history', async () => {
      const good = Number((await h.put(defaultDeny())).metadata.resourceVersion);
      await h.settle();
      assert.equal(await reach(), false);
      const chainsBefore = chains(await h.tableText());
      await h.killAgent('SIGKILL');
      const bad = await writeRawValue(config(), DENY_KEY, '\u0000not json');
      const probes = new ProbeLoop(h, a, b);
      probes.start();
      try {
        h.startAgent(agentEnv());
        await h.settle(30_000);
        await waitFor(() => heldDeny()?.revision === bad, {
          timeoutMs: 15_000,
          what: 'the restarted agent to report the key',
          describe: describeState,
        });
        assert.equal(heldDeny()?.lastGoodRevision, good);
        await probes.observe(6, 'the observation period after the restart');
      } finally {
        const results = await probes.stop();
        assert.deepEqual(
          results.filter((c) => c),
          [],
          `every one of ${results.length} probes was denied across the restart`,
        );
      }
      assert.deepEqual(
        chains(await h.tableText()),
        chainsBefore,
        'the restarted agent programmed the same chains, the default-deny included',
      );
      await h.put(defaultDeny());
      await h.settle();
    });

    it(
      'datastore unreachable: not in sync within seconds, still enforced; recovery logged',
      { skip: target.etcd ? false : 'the embedded store is a local file' },
      async (t) => {
        assert.equal(await reach(), false);
        const stoppedAt = performance.now();
        await etcd?.stop();
        await waitFor(() => datastoreStatus()?.connected === false, {
          timeoutMs: 15_000,
          what: 'status.json to say the datastore is unreachable',
          describe: describeState,
        });
        const noticedMs = performance.now() - stoppedAt;
        t.diagnostic(`datastore loss in status.json after ${Math.round(noticedMs)} ms`);
        assert.ok(noticedMs < 6000, `noticed after ${Math.round(noticedMs)} ms`);
        assert.equal(datastoreStatus()?.inSync, false);
        const ready = await get('/readiness', 9099);
        assert.equal(ready.status, 503);
        assert.match(ready.body, /datastore: not connected: /);
        assert.equal(await metric('felix_datastore_connected'), 0);
        for (let i = 0; i < 5; i++) assert.equal(await reach(), false, 'still denied with etcd down');
        assert.equal(agentAlive(), true);
        await etcd?.start();
        await waitFor(() => datastoreStatus()?.connected === true, {
          timeoutMs: 30_000,
          what: 'the recovery',
          describe: describeState,
        });
        assert.match(h.agentLog(), /datastore connection lost; keeping the dataplane as programmed/);
        assert.match(h.agentLog(), /datastore connection restored/);
        await h.settle(30_000);
        assert.equal(await reach(), false);
        await waitFor(async () => (await get('/readiness', 9099)).status === 200, {
          timeoutMs: 15_000,
          what: 'ready',
        });
      },
    );
  });
}

suite({ name: 'embedded (SQLite)', skip, etcd: false });
suite({ name: 'etcdv3', skip: skip || (etcdSkipReason() ?? false), etcd: true });
