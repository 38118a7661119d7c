import assert from 'node:assert/strict';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG } from '../api/v3/felix-config.js';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import { HealthAggregator } from './health.js';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { AgentServers } from './servers.js';

/** A port nothing listens on right now (the kernel's choice). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const addr = s.address();
  await new Promise<void>((r) =>
    s.close(() => {
      r();
    }),
  );
  assert.ok(addr !== null && typeof addr === 'object');
  return addr.port;
}

/** One request on a fresh connection: the status code, or the connection error's code. */
function status(port: number, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      resolve(e.code ?? 'error');
    });
  });
}

function body(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve(text);
      });
    }).on('error', reject);
  });
}

function config(over: Partial<FelixConfig>): FelixConfig {
  return { ...DEFAULT_FELIX_CONFIG, healthHost: '127.0.0.1', prometheusMetricsHost: '127.0.0.1', ...over };
}

/** Servers with a fresh health aggregator and metrics, logging into `lines`. */
function serversUnderTest(lines: string[]): AgentServers {
  const log = createLogger('info', (l) => lines.push(l));
  return new AgentServers({ health: new HealthAggregator(), metrics: new AgentMetrics('n1'), log });
}

describe('the health and metrics servers follow the configuration', () => {
  it('open, close and move servers in place; runtime collectors follow their switches', async () => {
    const [hp, hp2, mp] = [await freePort(), await freePort(), await freePort()];
    const lines: string[] = [];
    await using servers = serversUnderTest(lines);
    await servers.start(config({ healthEnabled: true, healthPort: hp }));
    assert.equal(await status(hp, '/liveness'), 200);
    assert.equal(await status(mp, '/metrics'), 'ECONNREFUSED');

    await servers.reconfigure(
      config({
        healthEnabled: true,
        healthPort: hp,
        prometheusMetricsEnabled: true,
        prometheusMetricsPort: mp,
      }),
    );
    assert.equal(await status(mp, '/metrics'), 200);
    const text = await body(mp);
    assert.match(text, /^felix_host\{host="n1"\} 1$/m);
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_total_bytes /m);

    await servers.reconfigure(
      config({
        healthEnabled: true,
        healthPort: hp2,
        prometheusMetricsEnabled: true,
        prometheusMetricsPort: mp,
        prometheusGoMetricsEnabled: false,
        prometheusProcessMetricsEnabled: false,
      }),
    );
    assert.equal(await status(hp, '/liveness'), 'ECONNREFUSED');
    assert.equal(await status(hp2, '/liveness'), 200);
    const slim = await body(mp);
    assert.doesNotMatch(slim, /^(process_|nodejs_)/m);
    assert.match(slim, /^felix_active_local_endpoints /m);

    await servers.reconfigure(config({ healthEnabled: false, prometheusMetricsEnabled: false }));
    assert.equal(await status(hp2, '/liveness'), 'ECONNREFUSED');
    assert.equal(await status(mp, '/metrics'), 'ECONNREFUSED');
    assert.deepEqual(servers.listening, { health: undefined, metrics: undefined });
    assert.ok(lines.some((l) => l.includes('"health server stopped"')));
  });

  it('fails the start when a port is taken, and retries a later change until it can listen', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const addr = blocker.address();
    assert.ok(addr !== null && typeof addr === 'object');
    const lines: string[] = [];
    await using servers = serversUnderTest(lines);
    await assert.rejects(servers.start(config({ healthEnabled: true, healthPort: addr.port })), /EADDRINUSE/);
    await servers.reconfigure(config({ healthEnabled: true, healthPort: addr.port }));
    assert.ok(lines.some((l) => l.includes('retrying')));
    await new Promise<void>((r) =>
      blocker.close(() => {
        r();
      }),
    );
  });
});
