#!/usr/bin/env node
/**
 * calico-goldmane: the flow aggregator, composition root.
 *
 *   calico-node collectors ──FlowCollector.Connect──▶ GoldmaneServer ──▶ Aggregator (15 s buckets, ~1 h)
 *   calicoctl flows, the viewer ◀── Flows.List / Stream / FilterHints, Statistics.List ──┘   │
 *   /var/log/calico/flowlogs/flows.log ◀── each completed bucket (FlowLogFile) ─────────────┘
 *   health :8080 (/livez /readyz, also /liveness /readiness)   metrics :PROMETHEUS_PORT/metrics
 *
 * Configured like Goldmane, by environment (PORT, LOG_LEVEL, AGGREGATION_WINDOW, HEALTH_ENABLED, HEALTH_PORT,
 * PROMETHEUS_PORT, SERVER_CERT_PATH, SERVER_KEY_PATH, CA_CERT_PATH), each overridable by a flag; plus
 * FLOWLOGS_DIR (the JSON-lines directory, "" disables it) and LISTEN_ADDRESS. SIGTERM/SIGINT: open streams end,
 * calls in flight finish (5 s at most), the last state is not persisted (Goldmane keeps history in memory too).
 */
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { parseGoDuration } from '../api/v3/felix-config-types.js';
import { AsyncDisposableStore } from '../lib/disposable.js';
import { errorMessage } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { Aggregator } from './aggregator.js';
import { GOLDMANE_DEFAULT_PORT } from './client.js';
import { DEFAULT_FLOWLOG_DIR, FlowLogFile } from './flowlog-file.js';
import { GoldmaneMetrics } from './metrics.js';
import { GoldmaneServer, type LogLevel } from './server.js';

const USAGE = `Usage: calico-goldmane [options]      (each option also from the environment variable shown)

Options:
  --port=PORT                  gRPC port (PORT, default ${GOLDMANE_DEFAULT_PORT}; 0 picks a free one)
  --listen-address=ADDR        address to listen on (LISTEN_ADDRESS, default 0.0.0.0), or unix:///PATH
  --log-level=LEVEL            debug|info|warn|error (LOG_LEVEL, default info)
  --aggregation-window=DUR     bucket width, whole seconds (AGGREGATION_WINDOW, default 15s)
  --health-port=PORT           /livez and /readyz on localhost (HEALTH_PORT, default 8080; HEALTH_ENABLED=false: off)
  --prometheus-port=PORT       /metrics (PROMETHEUS_PORT, default 0: off)
  --flowlogs-dir=DIR           JSON-lines flow logs (FLOWLOGS_DIR, default ${DEFAULT_FLOWLOG_DIR}; "": off)
  --server-cert-path=FILE      TLS certificate (SERVER_CERT_PATH; with --server-key-path)
  --server-key-path=FILE       TLS key (SERVER_KEY_PATH)
  --ca-cert-path=FILE          require client certificates signed by this CA (CA_CERT_PATH)
  -h, --help                   this text`;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface GoldmaneConfig {
  readonly port: number;
  readonly listenAddress: string;
  readonly logLevel: LogLevel;
  readonly aggregationWindowSeconds: number;
  /** 0: no health server. */
  readonly healthPort: number;
  readonly prometheusPort: number;
  /** "": no JSON-lines flow log. */
  readonly flowlogsDir: string;
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caFile?: string } | undefined;
}

function port(name: string, raw: string): number {
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`${name}: ${JSON.stringify(raw)} is not a port number`);
  }
  return n;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GoldmaneConfig | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      'listen-address': { type: 'string' },
      'log-level': { type: 'string' },
      'aggregation-window': { type: 'string' },
      'health-port': { type: 'string' },
      'prometheus-port': { type: 'string' },
      'flowlogs-dir': { type: 'string' },
      'server-cert-path': { type: 'string' },
      'server-key-path': { type: 'string' },
      'ca-cert-path': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const pick = (flag: keyof typeof values, envName: string, dflt: string): [string, string] => {
    const v = values[flag];
    if (typeof v === 'string') return [`--${flag}`, v];
    return [envName, env[envName] ?? dflt];
  };
  const logLevel = pick('log-level', 'LOG_LEVEL', 'info')[1].toLowerCase();
  if (!LEVELS.includes(logLevel as LogLevel))
    throw new Error(`log level: ${JSON.stringify(logLevel)} is not one of ${LEVELS.join(', ')}`);
  const [wName, wRaw] = pick('aggregation-window', 'AGGREGATION_WINDOW', '15s');
  const windowMs = parseGoDuration(wRaw);
  if (windowMs === undefined || windowMs < 1000 || windowMs % 1000 !== 0) {
    throw new Error(`${wName}: ${JSON.stringify(wRaw)} is not a duration of whole seconds (e.g. 15s)`);
  }
  const healthEnabled = (env['HEALTH_ENABLED'] ?? 'true').toLowerCase() !== 'false';
  const cert = pick('server-cert-path', 'SERVER_CERT_PATH', '')[1];
  const key = pick('server-key-path', 'SERVER_KEY_PATH', '')[1];
  const ca = pick('ca-cert-path', 'CA_CERT_PATH', '')[1];
  if ((cert === '') !== (key === ''))
    throw new Error('the server certificate and key go together: give both or neither');
  return {
    port: port(...pick('port', 'PORT', String(GOLDMANE_DEFAULT_PORT))),
    listenAddress: pick('listen-address', 'LISTEN_ADDRESS', '0.0.0.0')[1],
    logLevel: logLevel as LogLevel,
    aggregationWindowSeconds: windowMs / 1000,
    healthPort: healthEnabled ? port(...pick('health-port', 'HEALTH_PORT', '8080')) : 0,
    prometheusPort: port(...pick('prometheus-port', 'PROMETHEUS_PORT', '0')),
    flowlogsDir: pick('flowlogs-dir', 'FLOWLOGS_DIR', DEFAULT_FLOWLOG_DIR)[1],
    tls: cert === '' ? undefined : { certFile: cert, keyFile: key, ...(ca === '' ? {} : { caFile: ca }) },
  };
}

function httpServer(
  host: string,
  p: number,
  routes: (
    path: string,
  ) =>
    | { status: number; body: string; type?: string }
    | Promise<{ status: number; body: string; type?: string }>,
): Promise<Server> {
  const server = createServer((req, res) => {
    void Promise.resolve(routes(new URL(req.url ?? '/', 'http://x').pathname)).then((r) => {
      res.writeHead(r.status, { 'content-type': r.type ?? 'text/plain; charset=utf-8' });
      res.end(r.body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeHttp(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => {
      resolve();
    });
    s.closeAllConnections();
  });
}

/** Starts everything; the returned store stops it all in reverse order. */
export async function startGoldmane(
  cfg: GoldmaneConfig,
  log: (level: LogLevel, msg: string) => void,
): Promise<{ store: AsyncDisposableStore; port: number }> {
  await using store = new AsyncDisposableStore();
  let ready = false;
  const metrics: { m?: GoldmaneMetrics } = {};
  const agg = store.add(
    new Aggregator({
      bucketSeconds: cfg.aggregationWindowSeconds,
      onRollover: (d, next) => {
        metrics.m?.rolloverDurationMs.observe(d);
        metrics.m?.rolloverLatencyMs.observe(next);
      },
    }),
    (a) => {
      a.dispose();
    },
  );
  if (cfg.prometheusPort !== 0) metrics.m = new GoldmaneMetrics(agg);
  if (cfg.flowlogsDir !== '') {
    const file = new FlowLogFile({ dir: cfg.flowlogsDir });
    store.defer(
      agg.onBucket((b) => {
        try {
          file.write(b);
        } catch (e) {
          log('error', `flow log ${file.path}: ${errorMessage(e)}`);
        }
      }),
    );
    log('info', `writing flow logs to ${file.path}`);
  }
  if (cfg.healthPort !== 0) {
    const health = await httpServer('127.0.0.1', cfg.healthPort, (path) => {
      if (path === '/livez' || path === '/liveness') return { status: 200, body: 'live\n' };
      if (path === '/readyz' || path === '/readiness')
        return ready ? { status: 200, body: 'ready\n' } : { status: 503, body: 'starting\n' };
      return { status: 404, body: 'not found\n' };
    });
    store.add(health, closeHttp);
  }
  if (metrics.m !== undefined) {
    const registry = metrics.m.registry;
    const metricsHost = cfg.listenAddress.startsWith('unix:') ? '127.0.0.1' : cfg.listenAddress;
    const ms = await httpServer(metricsHost, cfg.prometheusPort, async (path) =>
      path === '/metrics'
        ? { status: 200, body: await registry.metrics(), type: registry.contentType }
        : { status: 404, body: 'not found\n' },
    );
    store.add(ms, closeHttp);
  }
  const server = new GoldmaneServer(agg, { ...(metrics.m === undefined ? {} : { metrics: metrics.m }), log });
  store.add(server, (s) => s.close());
  const bound = await server.listen(cfg.listenAddress, cfg.port, cfg.tls);
  agg.start();
  ready = true;
  log(
    'info',
    `Listening on ${cfg.listenAddress.startsWith('unix:') ? cfg.listenAddress : `${cfg.listenAddress}:${bound}`} (${cfg.tls === undefined ? 'plaintext' : 'TLS'}), buckets of ${cfg.aggregationWindowSeconds}s`,
  );
  return { store: store.move(), port: bound };
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let cfg;
  try {
    cfg = parseConfig(argv, env);
  } catch (e) {
    process.stderr.write(`calico-goldmane: ${errorMessage(e)}\n${USAGE}\n`);
    return 2;
  }
  if (cfg === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const threshold = LEVELS.indexOf(cfg.logLevel);
  const log = (level: LogLevel, msg: string): void => {
    if (LEVELS.indexOf(level) >= threshold)
      process.stderr.write(`${new Date().toISOString()} [${level.toUpperCase()}] calico-goldmane ${msg}\n`);
  };
  const { store } = await startGoldmane(cfg, log);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('info', 'Shutting down');
  await store[Symbol.asyncDispose]();
  return 0;
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`calico-goldmane: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}
