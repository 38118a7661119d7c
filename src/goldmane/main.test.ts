import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../lib/async.js';
import { freeLoopbackPort } from '../test-support/ports.js';
import { GoldmaneClient } from './client.js';
import { parseConfig } from './main.js';
import { testFlow } from './testing.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

describe('calico-goldmane program', () => {
  it('reads Goldmane-style environment and flags, flags winning, and refuses bad values', () => {
    const cfg = parseConfig(['--port', '9000'], {
      PORT: '1',
      AGGREGATION_WINDOW: '1m',
      HEALTH_ENABLED: 'false',
    });
    assert.ok(cfg !== 'help');
    assert.equal(cfg.port, 9000);
    assert.equal(cfg.aggregationWindowSeconds, 60);
    assert.equal(cfg.healthPort, 0);
    assert.equal(cfg.flowlogsDir, '/var/log/calico/flowlogs');
    const dflt = parseConfig([], {});
    assert.ok(dflt !== 'help');
    assert.deepEqual([dflt.port, dflt.healthPort, dflt.prometheusPort, dflt.tls], [7443, 8080, 0, undefined]);
    assert.throws(() => parseConfig([], { AGGREGATION_WINDOW: '1.5s' }), /AGGREGATION_WINDOW: "1.5s"/);
    assert.throws(() => parseConfig(['--port', 'x'], {}), /--port: "x" is not a port/);
    assert.throws(() => parseConfig([], { SERVER_CERT_PATH: '/c' }), /give both or neither/);
  });

  it('serves gRPC, health and metrics, writes each completed bucket as JSON lines, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goldmane-'));
    const [health, prom] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const child = spawn(
      process.execPath,
      [MAIN, '--port=0', '--listen-address=127.0.0.1', '--aggregation-window=1s', `--flowlogs-dir=${dir}`],
      {
        env: { ...process.env, HEALTH_PORT: String(health), PROMETHEUS_PORT: String(prom) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let client: GoldmaneClient | undefined;
    try {
      await waitFor(() => /Listening on 127\.0\.0\.1:(\d+)/.test(stderr), {
        timeoutMs: 15_000,
        what: 'listening',
      });
      const port = /Listening on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]!;
      const ready = await fetch(`http://127.0.0.1:${health}/readyz`);
      assert.equal(ready.status, 200);
      client = new GoldmaneClient(`127.0.0.1:${port}`);
      const reporter = client.connectCollector();
      await reporter.send(testFlow({ source_name: 'jsonl', start_time: Math.floor(Date.now() / 1000) }));
      await reporter.close();
      assert.equal((await client.list({})).flows[0]?.flow?.Key.source_name, 'jsonl');
      const file = join(dir, 'flows.log');
      await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('"jsonl"'), {
        timeoutMs: 10_000,
        what: 'the flow in flows.log',
      });
      const line = JSON.parse(readFileSync(file, 'utf8').trim().split('\n')[0]!) as {
        Key: { source_name: string };
        end_time: number;
        start_time: number;
      };
      assert.equal(line.Key.source_name, 'jsonl');
      assert.equal(line.end_time - line.start_time, 1);
      const metrics = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
      assert.match(metrics, /^goldmane_aggr_received_flows_total 1$/m);
      assert.match(metrics, /^goldmane_collector_received_flows\{source="[^"]+"\} 1$/m);
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      // The exposition parses (status 1 otherwise); the only lint findings are Goldmane's own metric names,
      // kept as Goldmane spells them so its dashboards work (the `_ms` units, a counter without `_total`).
      assert.notEqual(promtool.status, 1, `promtool: ${promtool.stdout}${promtool.stderr}`);
      const findings = `${promtool.stdout}${promtool.stderr}`.split('\n').filter((l) => l.trim() !== '');
      for (const f of findings) {
        assert.match(
          f,
          /^goldmane_\w+_ms metric names should not contain abbreviated units$|^goldmane_collector_received_flows counter metrics should have "_total" suffix$/,
        );
      }
      client.close();
      client = undefined;
      child.kill('SIGTERM');
      await waitFor(() => child.exitCode !== null, { timeoutMs: 10_000, what: 'exit after SIGTERM' });
      assert.equal(child.exitCode, 0, stderr);
    } finally {
      client?.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
