import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FakeClock } from '../lib/async.js';
import { HealthAggregator, renderTable, startHealthServer } from './health.js';
import { closeServer } from './http.js';

function felixLike(clock: FakeClock): HealthAggregator {
  const h = new HealthAggregator({ clock });
  h.register('FelixStartup', { live: true, ready: true }, 0);
  h.register('CalculationGraph', { live: true, ready: true }, 30_000);
  h.register('InternalDataplaneMainLoop', { live: true, ready: true }, 90_000);
  return h;
}

describe("Felix's health aggregator", () => {
  it('renders the reporter table as go-pretty does', () => {
    assert.equal(
      renderTable(
        ['A', 'LONGER'],
        [
          ['x', ''],
          ['yyyy', 'z'],
        ],
      ),
      [
        '+------+--------+',
        '| A    | LONGER |',
        '+------+--------+',
        '| x    |        |',
        '| yyyy | z      |',
        '+------+--------+',
      ].join('\n'),
    );
  });

  it('is ready only when every reporter is; the table names the one that is not', () => {
    const clock = new FakeClock();
    const h = felixLike(clock);
    let s = h.summary();
    assert.equal(s.live, true);
    assert.equal(s.ready, false, 'reporters start not ready');
    for (const n of ['FelixStartup', 'CalculationGraph']) h.report(n, { live: true, ready: true });
    h.report('InternalDataplaneMainLoop', { live: true, ready: false });
    s = h.summary();
    assert.equal(s.ready, false);
    assert.equal(
      s.detail,
      [
        '+---------------------------+---------+----------------+---------------------+--------+',
        '| COMPONENT                 | TIMEOUT | LIVENESS       | READINESS           | DETAIL |',
        '+---------------------------+---------+----------------+---------------------+--------+',
        '| CalculationGraph          | 30s     | reporting live | reporting ready     |        |',
        '| FelixStartup              | -       | reporting live | reporting ready     |        |',
        '| InternalDataplaneMainLoop | 1m30s   | reporting live | reporting non-ready |        |',
        '+---------------------------+---------+----------------+---------------------+--------+',
      ].join('\n'),
    );
    h.report('InternalDataplaneMainLoop', { live: true, ready: true });
    assert.equal(h.summary().ready, true);
  });

  it('counts a silent reporter as failed after its timeout; overrides replace the timeout', () => {
    const clock = new FakeClock();
    const h = felixLike(clock);
    for (const n of ['FelixStartup', 'CalculationGraph', 'InternalDataplaneMainLoop'])
      h.report(n, { live: true, ready: true });
    clock.advance(31_000);
    let s = h.summary();
    assert.equal(s.live, false);
    assert.match(s.detail, /\| CalculationGraph +\| 30s +\| timed out +\| timed out +\|/);
    h.setTimeoutOverrides(new Map([['CalculationGraph', 60_000]]));
    s = h.summary();
    assert.equal(s.live, true);
    assert.match(s.detail, /\| CalculationGraph +\| 1m0s \(override\) +\| reporting live/);
    h.setReporterTimeout('InternalDataplaneMainLoop', 20_000);
    assert.equal(h.summary().live, false);
  });

  describe('the HTTP endpoints', () => {
    const clock = new FakeClock();
    const h = felixLike(clock);
    const server = startHealthServer('127.0.0.1', 0, h);
    after(async () => {
      await closeServer(await server);
    });

    it('answer 200 with the table when good, 503 when not, 404 elsewhere', async () => {
      const addr = (await server).address();
      assert.ok(addr !== null && typeof addr === 'object');
      const get = async (path: string): Promise<[number, string]> => {
        const r = await fetch(`http://127.0.0.1:${addr.port}${path}`);
        return [r.status, await r.text()];
      };
      const [rs, body] = await get('/readiness');
      assert.equal(rs, 503);
      assert.match(body, /^\+-+/);
      assert.match(body, /FelixStartup +\| - +\| reporting live +\| reporting non-ready/);
      assert.equal((await get('/liveness'))[0], 200);
      for (const n of ['FelixStartup', 'CalculationGraph', 'InternalDataplaneMainLoop'])
        h.report(n, { live: true, ready: true });
      const [ok, okBody] = await get('/readiness?x=1');
      assert.equal(ok, 200);
      assert.match(okBody, /COMPONENT/);
      assert.equal((await get('/metrics'))[0], 404);
    });
  });
});
