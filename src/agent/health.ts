/**
 * Felix's health aggregator (libcalico-go/lib/health/health.go): named reporters, each registered with what
 * it reports (liveness, readiness) and a timeout after which a silent reporter counts as failed; the
 * summary is live (ready) only when every reporter is. `/liveness` and `/readiness` answer 200 with the
 * summary table as the body when good, 503 with the same table when not, so the body says which reporter
 * failed and why:
 *
 *   +---------------------------+---------+----------------+---------------------+--------+
 *   | COMPONENT                 | TIMEOUT | LIVENESS       | READINESS           | DETAIL |
 *   +---------------------------+---------+----------------+---------------------+--------+
 *   | CalculationGraph          | 30s     | reporting live | reporting ready     |        |
 *   | FelixStartup              | -       | reporting live | reporting ready     |        |
 *   | InternalDataplaneMainLoop | 1m30s   | reporting live | reporting non-ready |        |
 *   +---------------------------+---------+----------------+---------------------+--------+
 *
 * healthTimeoutOverrides replace a reporter's timeout by name. Time comes from an injected Clock.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { formatGoDuration } from '../api/v3/felix-config-types.js';
import { type Clock, realClock } from '../lib/async.js';
import type { Logger } from './log.js';
import { listen } from './http.js';

export interface HealthReport {
  readonly live: boolean;
  readonly ready: boolean;
  readonly detail?: string;
}

interface Reporter {
  readonly name: string;
  /** What this reporter reports on (a reporter that does not report readiness never blocks it). */
  readonly reports: { readonly live: boolean; readonly ready: boolean };
  readonly timeoutMs: number;
  latest: HealthReport;
  at: number;
}

export interface HealthSummary {
  readonly live: boolean;
  readonly ready: boolean;
  /** The table of reporters (the HTTP body). */
  readonly detail: string;
}

/** go-pretty's default table style: `+---+` borders, one space of padding, header upper case. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]): string =>
    `|${widths.map((w, i) => ` ${(cells[i] ?? '').padEnd(w)} `).join('|')}|`;
  return [rule, line(header), rule, ...rows.map(line), rule].join('\n');
}

export class HealthAggregator {
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #reporters = new Map<string, Reporter>();
  #overrides: ReadonlyMap<string, number> = new Map();
  #last: { live: boolean; ready: boolean } | undefined;

  constructor(opts: { readonly clock?: Clock; readonly log?: Logger } = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.log;
  }

  /** A reporter starts live (not yet ready); `timeoutMs` 0: its reports never expire. */
  register(
    name: string,
    reports: { readonly live: boolean; readonly ready: boolean },
    timeoutMs: number,
  ): void {
    this.#reporters.set(name, {
      name,
      reports,
      timeoutMs,
      latest: { live: true, ready: false },
      at: this.#clock.now(),
    });
  }

  report(name: string, r: HealthReport): void {
    const rep = this.#reporters.get(name);
    if (rep === undefined) return;
    if (rep.latest.live !== r.live || rep.latest.ready !== r.ready)
      this.#log?.info('Health of component changed', { name, live: r.live, ready: r.ready });
    rep.latest = r;
    rep.at = this.#clock.now();
  }

  /** A registered reporter's own timeout (dataplaneWatchdogTimeout for the dataplane loop). */
  setReporterTimeout(name: string, timeoutMs: number): void {
    const r = this.#reporters.get(name);
    if (r !== undefined) this.#reporters.set(name, { ...r, timeoutMs });
  }

  /** healthTimeoutOverrides: reporter name -> timeout (ms). */
  setTimeoutOverrides(overrides: ReadonlyMap<string, number>): void {
    this.#overrides = overrides;
  }

  summary(): HealthSummary {
    let live = true;
    let ready = true;
    const rows: string[][] = [];
    for (const r of [...this.#reporters.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const override = this.#overrides.get(r.name);
      const timeout = override ?? r.timeoutMs;
      const timedOut = timeout > 0 && this.#clock.now() - r.at > timeout;
      const state = (reports: boolean, good: boolean, word: string): [boolean, string] => {
        if (!reports) return [true, '-'];
        if (timedOut) return [false, 'timed out'];
        return good ? [true, `reporting ${word}`] : [false, `reporting non-${word}`];
      };
      const [isLive, liveText] = state(r.reports.live, r.latest.live, 'live');
      const [isReady, readyText] = state(r.reports.ready, r.latest.ready, 'ready');
      live &&= isLive;
      ready &&= isReady;
      const timeoutText = `${timeout === 0 ? '-' : formatGoDuration(timeout)}${override !== undefined ? ' (override)' : ''}`;
      rows.push([r.name, timeoutText, liveText, readyText, r.latest.detail ?? '']);
    }
    const detail = renderTable(['COMPONENT', 'TIMEOUT', 'LIVENESS', 'READINESS', 'DETAIL'], rows);
    if (this.#last?.live !== live || this.#last.ready !== ready) {
      this.#last = { live, ready };
      this.#log?.info('Overall health status changed', { live, ready, detail });
    }
    return { live, ready, detail };
  }
}

/** `/liveness` and `/readiness` (Felix's codes: 200 good with the table, 503 bad); anything else 404. */
export function startHealthServer(host: string, port: number, health: HealthAggregator): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/liveness' && path !== '/readiness') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    const s = health.summary();
    const good = path === '/liveness' ? s.live : s.ready;
    res.writeHead(good ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(s.detail);
  });
  return listen(server, host, port);
}
