/**
 * The nftables dataplane on the real kernel, in a namespace of its own (root; skipped with the reason
 * otherwise), when things fail: a full resync adopts what the kernel already holds, and when nft keeps
 * refusing the loop gives up without ever taking the table down (fail closed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CalcGraph } from '../calc/graph.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import type { CommandRunner, RunOptions, RunResult } from './exec/command-runner.js';
import { NodeCommandRunner } from './exec/node-runner.js';
import { createNftablesDataplane } from './create.js';
import type { DataplaneFailure } from './loop.js';
import { repoRoot } from '../test-support/repo.js';

const skip = kernelTestSkipReason(['ip', 'nft']);
const agentMain = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');

/** Passes everything to the namespace, except `nft -f` transactions while `refuse` is set. */
class RefusingRunner implements CommandRunner {
  readonly #base: CommandRunner;
  refuse = false;
  transactions = 0;
  constructor(base: CommandRunner) {
    this.#base = base;
  }
  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (cmd === 'nft' && args[0] === '-f') {
      this.transactions++;
      if (this.refuse) return Promise.resolve({ code: 1, stdout: '', stderr: 'Error: injected failure\n' });
    }
    return this.#base.run(cmd, args, opts);
  }
}

const C = 'projectcalico.org/v3';

describe('dataplane failures on the real kernel', { skip }, () => {
  const scope = new NetnsScope(new NodeCommandRunner());
  after(() => scope[Symbol.asyncDispose]());

  test('a resync adopts the kernel table; persistent nft failures end the loop with the table intact', async () => {
    const ns = await scope.namespace();
    const runner = new RefusingRunner(scope.runner(ns));
    const listing = async () =>
      (await scope.runner(ns).run('nft', ['-s', 'list', 'table', 'inet', 'calico'])).stdout;
    const graph = new CalcGraph('node1');
    const failures: DataplaneFailure[] = [];
    const fatal: Error[] = [];
    const dp = createNftablesDataplane({
      runner,
      hostname: 'node1',
      birdProgramsNoEncap: false,
      refreshIntervalMs: 3_600_000,
      retryMinMs: 5,
      retryMaxMs: 20,
      resyncSource: () => graph.replay(),
      hooks: {
        onApplied: () => undefined,
        onFailure: (f) => failures.push(f),
        onFatal: (e) => fatal.push(e),
      },
    });
    const controller = new AbortController();
    dp.loop.start(controller.signal);
    try {
      graph.onUpdates([
        {
          key: { kind: 'WorkloadEndpoint', namespace: 'default', name: 'node1-k8s-a-eth0' },
          value: {
            apiVersion: C,
            kind: 'WorkloadEndpoint',
            metadata: { name: 'node1-k8s-a-eth0', namespace: 'default' },
            spec: {
              node: 'node1',
              pod: 'a',
              endpoint: 'eth0',
              interfaceName: 'calia',
              ipNetworks: ['10.0.0.1/32'],
            },
          },
          revision: 1,
        },
      ]);
      graph.onInSync();
      dp.loop.onMessages(graph.flush());
      await waitFor(() => dp.loop.dataplaneInSync, { timeoutMs: 20_000, what: 'the first apply' });
      const programmed = await listing();
      assert.match(programmed, /chain filter-cali-tw-calia/);

      // A message the IP-set manager cannot take: a full resync, which finds the kernel already right.
      const before = runner.transactions;
      dp.loop.onMessages([
        { kind: 'ipSetDeltaUpdate', id: 's:unknown', added: ['10.9.9.9/32'], removed: [] },
      ]);
      await waitFor(() => dp.loop.status().resyncs === 1 && dp.loop.ready, {
        timeoutMs: 20_000,
        what: 'the resync',
      });
      assert.equal(runner.transactions, before, 'nothing to change after the resync');
      assert.equal(await listing(), programmed);
      assert.deepEqual(
        failures.map((f) => [f.phase, f.next]),
        [['message', 'resync']],
      );

      // nft refuses every transaction from now on: retries, resyncs, then the loop gives up.
      runner.refuse = true;
      graph.onUpdates([
        {
          key: { kind: 'GlobalNetworkPolicy', name: 'deny-all' },
          value: {
            apiVersion: C,
            kind: 'GlobalNetworkPolicy',
            metadata: { name: 'deny-all' },
            spec: { selector: 'all()', ingress: [{ action: 'Deny' }] },
          },
          revision: 2,
        },
      ]);
      dp.loop.onMessages(graph.flush());
      await waitFor(() => fatal.length > 0, { timeoutMs: 30_000, what: 'the loop to give up' });
      assert.equal(dp.loop.status().fatal, true);
      assert.equal(dp.loop.ready, false);
      assert.ok(failures.filter((f) => f.phase === 'table').length >= 3);
      assert.equal(failures.at(-1)?.next, 'fatal');
      assert.equal(await listing(), programmed, 'the kernel keeps the last programmed table');
      assert.match(programmed, /oifname "cali\*" counter drop/, 'new workload interfaces stay closed');
    } finally {
      controller.abort();
      await dp.loop.idle();
    }
  });

  test(
    'calico-node exits 1 for its supervisor when nft refuses every transaction',
    { skip: existsSync(agentMain) ? false : 'dist/src/agent/main.js not built' },
    async () => {
      const ns = await scope.namespace();
      const dir = mkdtempSync(join(tmpdir(), 'calts-dpfatal-'));
      try {
        // An `nft` that lists as the real one does and refuses every `nft -f` transaction.
        mkdirSync(join(dir, 'bin'));
        const nft = join(dir, 'bin', 'nft');
        writeFileSync(
          nft,
          '#!/bin/sh\nfor a in "$@"; do [ "$a" = "-f" ] && { echo "Error: injected" >&2; exit 1; }; done\nexec nft.real "$@"\n',
        );
        chmodSync(nft, 0o755);
        const real = (process.env.PATH ?? '')
          .split(':')
          .map((d) => join(d, 'nft'))
          .find((f) => existsSync(f));
        assert.ok(real !== undefined);
        writeFileSync(join(dir, 'bin', 'nft.real'), `#!/bin/sh\nexec ${real} "$@"\n`);
        chmodSync(join(dir, 'bin', 'nft.real'), 0o755);
        const agent = spawn('ip', ['netns', 'exec', ns, process.execPath, agentMain], {
          env: {
            PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
            NODENAME: 'node1',
            DATASTORE_TYPE: 'embedded',
            CALICO_DATASTORE_PATH: join(dir, 'calico.db'),
            CALICO_RUN_DIR: join(dir, 'run'),
            FELIX_HEALTHENABLED: 'false',
            CALICO_NETWORKING_BACKEND: 'none',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let log = '';
        agent.stderr.on('data', (d: Buffer) => {
          log += d.toString();
        });
        try {
          await waitFor(() => agent.exitCode !== null || agent.signalCode !== null, {
            timeoutMs: 90_000,
            what: 'calico-node to exit',
            describe: () => log.slice(-2000),
          });
        } finally {
          if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
        }
        assert.equal(agent.exitCode, 1, log.slice(-2000));
        assert.match(
          log,
          /dataplane cannot be programmed; exiting for the supervisor to restart calico-node/,
        );
        assert.equal((log.match(/dataplane table failed; will resync/g) ?? []).length, 5);
        const status = JSON.parse(readFileSync(join(dir, 'run', 'status.json'), 'utf8')) as {
          lastApplyError: string | null;
          dataplaneInSync: boolean;
        };
        assert.equal(status.dataplaneInSync, false);
        assert.match(status.lastApplyError ?? '', /injected/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
