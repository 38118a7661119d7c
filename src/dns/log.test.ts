import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeClock, waitFor } from '../lib/async.js';
import { DnsLogWriter, type DnsLogLine } from './log.js';
import type { DnsAnswerEvent } from './proxy.js';
import { RCODE, RR_TYPE } from './wire.js';

const base = mkdtempSync(join(tmpdir(), 'dnslog-'));
after(() => {
  rmSync(base, { recursive: true, force: true });
});

function event(qname: string, over: Partial<DnsAnswerEvent> = {}): DnsAnswerEvent {
  return {
    client: { ip: '10.65.0.5', port: 40000 },
    server: { ip: '10.96.0.10', port: 53 },
    transport: 'udp',
    id: 1,
    question: { name: qname, type: RR_TYPE.A, class: 1 },
    answers: [
      { name: qname, type: 'CNAME', ttl: 120, data: 'edge.example.com' },
      { name: 'edge.example.com', type: 'A', ttl: 60, data: '192.0.2.10' },
    ],
    rcode: RCODE.NOERROR,
    truncated: false,
    latencyMs: 1.23456,
    ...over,
  };
}

function lines(path: string): DnsLogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as DnsLogLine);
}

describe('DnsLogWriter', () => {
  it('writes one JSON line per answer, with the pod when the resolver knows the client; 0755 dir, 0644 file', async () => {
    const dir = join(base, 'nested', 'dnslogs');
    const old = process.umask(0o077);
    const w = new DnsLogWriter({
      dir,
      now: () => new Date('2025-01-02T03:04:05.000Z'),
      resolveClient: (ip) => (ip === '10.65.0.5' ? { namespace: 'prod', name: 'web-0' } : undefined),
    });
    try {
      w.start();
      w.record(event('www.example.com'));
      w.record(
        event('nope.example.com', { client: { ip: 'fd00::7', port: 1 }, rcode: RCODE.NXDOMAIN, answers: [] }),
      );
      await w.close();
    } finally {
      process.umask(old);
    }
    assert.equal(w.path, join(dir, 'dns.log'));
    assert.deepEqual(lines(w.path), [
      {
        time: '2025-01-02T03:04:05.000Z',
        client: { ip: '10.65.0.5', namespace: 'prod', name: 'web-0' },
        server: { ip: '10.96.0.10', port: 53 },
        qname: 'www.example.com',
        qtype: 'A',
        rcode: 'NOERROR',
        answers: [
          { name: 'www.example.com', type: 'CNAME', ttl: 120, data: 'edge.example.com' },
          { name: 'edge.example.com', type: 'A', ttl: 60, data: '192.0.2.10' },
        ],
        latency_ms: 1.235,
      },
      {
        time: '2025-01-02T03:04:05.000Z',
        client: { ip: 'fd00::7' },
        server: { ip: '10.96.0.10', port: 53 },
        qname: 'nope.example.com',
        qtype: 'A',
        rcode: 'NXDOMAIN',
        answers: [],
        latency_ms: 1.235,
      },
    ]);
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    assert.equal(statSync(join(base, 'nested')).mode & 0o777, 0o755);
    assert.equal(statSync(w.path).mode & 0o777, 0o644);
    assert.equal(w.counters.linesWritten, 2);
  });

  it('flushes on its interval (injected clock), not before', async () => {
    const clock = new FakeClock();
    const w = new DnsLogWriter({ dir: join(base, 'interval'), clock, flushIntervalMs: 5_000 });
    w.start();
    w.record(event('a.example.com'));
    clock.advance(4_999);
    assert.equal(clock.nextDue(), 5_000, 'the flush timer has not fired yet');
    clock.advance(1);
    await waitFor(() => w.counters.linesWritten === 1, { timeoutMs: 3_000, what: 'the interval flush' });
    w.record(event('b.example.com'));
    clock.advance(5_000);
    await waitFor(() => w.counters.linesWritten === 2, {
      timeoutMs: 3_000,
      what: 'the second interval flush',
    });
    await w.close();
    assert.deepEqual(
      lines(w.path).map((l) => l.qname),
      ['a.example.com', 'b.example.com'],
    );
  });

  it('bounds the buffer: a full buffer is written at once and lines beyond it are dropped and counted', async () => {
    const w = new DnsLogWriter({ dir: join(base, 'bounded'), maxBufferedLines: 3 });
    w.start();
    for (let i = 0; i < 10; i++) w.record(event(`n${i}.example.com`));
    await waitFor(() => w.counters.linesWritten === 3, { timeoutMs: 3_000, what: 'the early flush' });
    assert.equal(w.counters.linesDropped, 7);
    await w.close();
    assert.deepEqual(
      lines(w.path).map((l) => l.qname),
      ['n0.example.com', 'n1.example.com', 'n2.example.com'],
    );
  });

  it('rotates dns.log to dns.log.1 before a write would pass the size cap', async () => {
    const w = new DnsLogWriter({ dir: join(base, 'rotate'), maxFileBytes: 1_000 });
    w.start();
    const written: string[] = [];
    for (let i = 0; i < 8; i++) {
      const name = `host${i}.example.com`;
      written.push(name);
      w.record(event(name));
      await w.flush();
      assert.ok(statSync(w.path).size <= 1_000, `dns.log over the cap after line ${i}`);
    }
    await w.close();
    assert.ok(w.counters.rotations >= 2);
    const kept = [...lines(`${w.path}.1`), ...lines(w.path)].map((l) => l.qname);
    assert.deepEqual(kept, written.slice(written.length - kept.length), 'the newest lines, in order');
    assert.equal(statSync(`${w.path}.1`).mode & 0o777, 0o644);
  });
});
