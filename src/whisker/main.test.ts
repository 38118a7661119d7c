import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../lib/async.js';
import { parseFlags } from './main.js';
import { policyDatastore, sampleFlows, type TestDatastore } from './testing/fixtures.js';
import { startFakeGoldmane, type FakeGoldmane } from './testing/goldmane-fake.js';

const SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));

describe('calico-whisker flags', () => {
  it('defaults as whisker-backend: all interfaces, $PORT, $GOLDMANE_HOST', () => {
    assert.deepEqual(parseFlags([], {}), {
      port: 8081,
      host: '0.0.0.0',
      goldmane: '127.0.0.1:7443',
      config: '/etc/calico/calicoctl.cfg',
    });
    assert.deepEqual(parseFlags([], { PORT: '9000', GOLDMANE_HOST: 'goldmane.calico-system.svc:7443' }), {
      port: 9000,
      host: '0.0.0.0',
      goldmane: 'goldmane.calico-system.svc:7443',
      config: '/etc/calico/calicoctl.cfg',
    });
    const flags = parseFlags(['--port', '0', '--goldmane', '[::1]:7443', '-c', '/tmp/c.cfg'], { PORT: '9' });
    assert.deepEqual(flags, { port: 0, host: '0.0.0.0', goldmane: '[::1]:7443', config: '/tmp/c.cfg' });
    assert.equal(parseFlags(['-h'], {}), 'help');
  });

  it('refuses a bad port or Goldmane address, naming the flag', () => {
    assert.throws(() => parseFlags(['--port', '70000'], {}), /^Error: --port: "70000" is not a port number$/);
    assert.throws(
      () => parseFlags(['--goldmane', 'goldmane'], {}),
      /^Error: --goldmane: "goldmane" is not HOST:PORT$/,
    );
    assert.throws(() => parseFlags(['--colour'], {}), /Unknown option '--colour'/);
  });
});

describe('calico-whisker program', () => {
  let goldmane: FakeGoldmane;
  let store: TestDatastore;
  before(async () => {
    const { denied, allowed } = sampleFlows();
    goldmane = await startFakeGoldmane([denied, allowed]);
    store = await policyDatastore();
  });
  after(async () => {
    await goldmane.close();
    await store.close();
  });

  it('serves flows and policies from the datastore calicoctl would use, and stops on SIGTERM', async () => {
    // calicoctl's client configuration file, naming the fixture's embedded datastore.
    const config = join(dirname(store.path), 'calicoctl.cfg');
    writeFileSync(
      config,
      `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  datastoreType: embedded\n  datastorePath: ${store.path}\n`,
    );
    const child = spawn(
      process.execPath,
      [SCRIPT, '--port', '0', '--host', '127.0.0.1', '--goldmane', goldmane.address, '-c', config],
      {
        env: { PATH: process.env['PATH'] },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let errText = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (errText += c.toString()));
    try {
      const url = await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`calico-whisker exited ${child.exitCode}: ${errText}`);
          return /serving (http:\/\/\S+)/.exec(out)?.[1];
        },
        {
          timeoutMs: 15_000,
          what: 'calico-whisker to listen',
          describe: () => `stdout ${JSON.stringify(out)} stderr ${JSON.stringify(errText)}`,
        },
      );
      const flows = (await (await fetch(`${url}flows`, { signal: AbortSignal.timeout(10_000) })).json()) as {
        items: unknown[];
      };
      assert.equal(flows.items.length, 2);
      const policy = await fetch(`${url}policy?kind=GlobalNetworkPolicy&name=deny-db`, {
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(policy.status, 200);
      assert.match(((await policy.json()) as { yaml: string }).yaml, /name: deny-db/);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await Promise.race([
        exited,
        new Promise((_, reject) =>
          setTimeout(() => {
            reject(new Error('no exit within 10 s of SIGTERM'));
          }, 10_000).unref(),
        ),
      ])) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
