import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../lib/async.js';
import { freeLoopbackPort } from '../test-support/ports.js';
import { type DnsAnswerEvent, type DnsProxyOptions, DnsProxy } from './proxy.js';
import { type Dnsmasq, startDnsmasq, tcpExchange, udpExchange } from './testing.js';
import type { DnsServerAddress } from './upstream.js';
import { type DnsMessage, RCODE, RR_CLASS_IN, RR_TYPE, parseMessage } from './wire.js';
import { encodeMessage, encodeQuery } from './wire-encode.js';

const RECORDS = [
  '--local-ttl=60',
  // Names under example.com that have no record: NXDOMAIN (without it dnsmasq, having no upstream, refuses).
  '--local=/example.com/',
  '--address=/api.example.com/192.0.2.10',
  '--host-record=dual.example.com,192.0.2.20,2001:db8::20,300',
  '--cname=www.example.com,edge.example.com,120',
  '--cname=edge.example.com,dual.example.com,90',
  // Three 200-byte strings: over 512 bytes, so a UDP reply without EDNS is truncated (TC).
  `--txt-record=big.example.com,${['a', 'b', 'c'].map((c) => c.repeat(200)).join(',')}`,
];

function parsed(bytes: Uint8Array): DnsMessage {
  const r = parseMessage(bytes);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

/** A proxy with one listener on 127.0.0.1 (or ::1) in front of `upstream`, recording hook events. */
async function proxyFor(
  upstream: DnsServerAddress,
  opts: DnsProxyOptions & { readonly host?: string } = {},
): Promise<{ proxy: DnsProxy; at: DnsServerAddress; events: DnsAnswerEvent[] }> {
  const events: DnsAnswerEvent[] = [];
  const proxy = new DnsProxy({
    onAnswer: (ev) => {
      events.push(ev);
      return Promise.resolve();
    },
    ...opts,
  });
  const l = await proxy.listen({ host: opts.host ?? '127.0.0.1', port: 0, upstream });
  return { proxy, at: { ip: l.host, port: l.port }, events };
}

describe('DnsProxy against dnsmasq', { timeout: 60_000 }, () => {
  let dns: Dnsmasq;
  before(async () => {
    dns = await startDnsmasq(RECORDS);
  });
  after(async () => {
    await dns.stop();
  });

  it('forwards a UDP A query unchanged (id kept) and hands the hook the answer', async () => {
    const { proxy, at, events } = await proxyFor(dns.v4);
    try {
      const q = encodeQuery(0x4242, 'api.example.com', RR_TYPE.A);
      const direct = await udpExchange(dns.v4, q);
      const viaProxy = await udpExchange(at, q);
      assert.deepEqual(viaProxy, direct, 'reply bytes pass through unchanged');
      assert.equal(parsed(viaProxy).header.id, 0x4242);
      assert.equal(events.length, 1);
      const ev = events[0]!;
      assert.deepEqual(ev.question, { name: 'api.example.com', type: RR_TYPE.A, class: RR_CLASS_IN });
      assert.deepEqual(ev.answers, [{ name: 'api.example.com', type: 'A', ttl: 60, data: '192.0.2.10' }]);
      assert.equal(ev.rcode, RCODE.NOERROR);
      assert.equal(ev.transport, 'udp');
      assert.equal(ev.client.ip, '127.0.0.1');
      assert.deepEqual(ev.server, dns.v4);
      assert.ok(ev.latencyMs >= 0);
      assert.equal(proxy.stats.snapshot().upstreamLatency.count, 1);
    } finally {
      await proxy.close();
    }
  });

  it('serves IPv6: AAAA through a ::1 listener to a ::1 upstream', async () => {
    const { proxy, at, events } = await proxyFor(dns.v6, { host: '::1' });
    try {
      const m = parsed(await udpExchange(at, encodeQuery(7, 'dual.example.com', RR_TYPE.AAAA)));
      assert.equal(m.header.id, 7);
      assert.deepEqual(events[0]!.answers, [
        { name: 'dual.example.com', type: 'AAAA', ttl: 300, data: '2001:db8::20' },
      ]);
      assert.equal(events[0]!.client.ip, '::1');
    } finally {
      await proxy.close();
    }
  });

  it('passes the whole CNAME chain to the hook', async () => {
    const { proxy, at, events } = await proxyFor(dns.v4);
    try {
      await udpExchange(at, encodeQuery(9, 'www.example.com', RR_TYPE.A));
      assert.deepEqual(events[0]!.answers, [
        { name: 'www.example.com', type: 'CNAME', ttl: 120, data: 'edge.example.com' },
        { name: 'edge.example.com', type: 'CNAME', ttl: 90, data: 'dual.example.com' },
        { name: 'dual.example.com', type: 'A', ttl: 300, data: '192.0.2.20' },
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('answers several queries on one TCP connection, each id kept, forwarding over TCP', async () => {
    const { proxy, at, events } = await proxyFor(dns.v4);
    try {
      const replies = await tcpExchange(at, [
        encodeQuery(101, 'api.example.com', RR_TYPE.A),
        encodeQuery(102, 'dual.example.com', RR_TYPE.AAAA),
        encodeQuery(103, 'nothing.example.com', RR_TYPE.A),
      ]);
      assert.deepEqual(
        replies.map((r) => parsed(r).header.id),
        [101, 102, 103],
      );
      assert.equal(parsed(replies[2]!).header.rcode, RCODE.NXDOMAIN);
      assert.deepEqual(
        events.map((e) => [e.transport, e.question.name, e.rcode]),
        [
          ['tcp', 'api.example.com', RCODE.NOERROR],
          ['tcp', 'dual.example.com', RCODE.NOERROR],
          ['tcp', 'nothing.example.com', RCODE.NXDOMAIN],
        ],
      );
      assert.equal(proxy.stats.snapshot().queriesTcp, 3);
    } finally {
      await proxy.close();
    }
  });

  it('passes a truncated (TC) UDP reply on unchanged', async () => {
    const { proxy, at } = await proxyFor(dns.v4);
    try {
      const q = encodeQuery(55, 'big.example.com', RR_TYPE.TXT);
      const direct = await udpExchange(dns.v4, q);
      assert.equal(parsed(direct).header.tc, true, 'dnsmasq truncates the 600-byte TXT answer');
      assert.deepEqual(await udpExchange(at, q), direct);
      const [full] = await tcpExchange(at, [q]);
      assert.equal(parsed(full!).header.tc, false);
      assert.equal(parsed(full!).answers.length, 1);
    } finally {
      await proxy.close();
    }
  });

  it('holds the reply until the hook settles (DelayDNSResponse)', async () => {
    const order: string[] = [];
    let release: (() => void) | undefined;
    const { proxy, at } = await proxyFor(dns.v4, {
      onAnswer: () => {
        order.push('hook called');
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    try {
      const reply = udpExchange(at, encodeQuery(1, 'api.example.com', RR_TYPE.A)).then((r) => {
        order.push('client got reply');
        return r;
      });
      await waitFor(() => release, { timeoutMs: 3_000, what: 'the hook to be called' });
      // Give the reply every chance to overtake the hook: wait for a second, unrelated round trip.
      await udpExchange(dns.v4, encodeQuery(2, 'api.example.com', RR_TYPE.A));
      order.push('hook released');
      release!();
      assert.equal(parsed(await reply).header.id, 1);
      assert.deepEqual(order, ['hook called', 'hook released', 'client got reply']);
    } finally {
      await proxy.close();
    }
  });

  it('still answers when the hook never settles (bounded) or rejects, and counts both', async () => {
    const hooks: (() => Promise<void>)[] = [
      () => new Promise<void>(() => undefined),
      () => Promise.reject(new Error('nft failed')),
    ];
    const { proxy, at } = await proxyFor(dns.v4, { hookTimeoutMs: 150, onAnswer: () => hooks.shift()!() });
    try {
      assert.equal(parsed(await udpExchange(at, encodeQuery(3, 'api.example.com', RR_TYPE.A))).header.id, 3);
      assert.equal(parsed(await udpExchange(at, encodeQuery(4, 'api.example.com', RR_TYPE.A))).header.id, 4);
      const s = proxy.stats.snapshot();
      assert.equal(s.hookTimeouts, 1);
      assert.equal(s.hookFailures, 1);
      assert.equal(s.holdLatency.count, 2);
    } finally {
      await proxy.close();
    }
  });

  it('survives malformed client messages: drops garbage, FORMERR to a readable header', async () => {
    const { proxy, at, events } = await proxyFor(dns.v4);
    try {
      await assert.rejects(udpExchange(at, Uint8Array.of(1, 2, 3), 300), /no UDP reply/);
      // A query header announcing one question that is not there.
      const headerOnly = Uint8Array.of(0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0);
      const formerr = parsed(await udpExchange(at, headerOnly));
      assert.equal(formerr.header.id, 0x1234);
      assert.equal(formerr.header.rcode, RCODE.FORMERR);
      // Over TCP: FORMERR on the same connection, then a good query still answered on it.
      const [bad, good] = await tcpExchange(at, [headerOnly, encodeQuery(8, 'api.example.com', RR_TYPE.A)]);
      assert.equal(parsed(bad!).header.rcode, RCODE.FORMERR);
      assert.equal(parsed(good!).header.id, 8);
      // A zero-length frame ends the connection.
      await assert.rejects(tcpExchange(at, [], { expect: 1, raw: Uint8Array.of(0, 0) }), /closed/);
      assert.equal(parsed(await udpExchange(at, encodeQuery(9, 'api.example.com', RR_TYPE.A))).header.id, 9);
      assert.equal(proxy.stats.snapshot().clientParseErrors, 4);
      assert.equal(events.length, 2, 'only the two good queries reached the hook');
    } finally {
      await proxy.close();
    }
  });

  it('closes with a query held in the hook and one waiting on a silent upstream, sending neither reply', async () => {
    let held = 0;
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const { proxy, at } = await proxyFor(dns.v4, {
      hookTimeoutMs: 60_000,
      onAnswer: () => {
        held += 1;
        return new Promise<void>(() => undefined);
      },
    });
    const quiet = await proxy.listen({
      host: '127.0.0.1',
      port: 0,
      upstream: { ip: '127.0.0.1', port: silent.address().port },
    });
    try {
      const a = udpExchange(at, encodeQuery(21, 'api.example.com', RR_TYPE.A), 1_000);
      const b = udpExchange(
        { ip: '127.0.0.1', port: quiet.port },
        encodeQuery(22, 'api.example.com', RR_TYPE.A),
        1_000,
      );
      await waitFor(() => held === 1 && proxy.stats.snapshot().queriesUdp === 2, {
        timeoutMs: 3_000,
        what: 'both queries in flight',
      });
      await proxy.close();
      await assert.rejects(a, /no UDP reply/);
      await assert.rejects(b, /no UDP reply/);
      assert.equal(proxy.stats.snapshot().upstreamErrors, 1, 'the silent upstream query was abandoned');
    } finally {
      await proxy.close();
      silent.close();
    }
  });

  it('answers SERVFAIL when the upstream is not there', async () => {
    const port = await freeLoopbackPort();
    const { proxy, at, events } = await proxyFor({ ip: '127.0.0.1', port }, { upstreamTimeoutMs: 1_000 });
    try {
      const m = parsed(await udpExchange(at, encodeQuery(11, 'api.example.com', RR_TYPE.A)));
      assert.equal(m.header.rcode, RCODE.SERVFAIL);
      assert.equal(m.header.id, 11);
      const [t] = await tcpExchange(at, [encodeQuery(12, 'api.example.com', RR_TYPE.A)]);
      assert.equal(parsed(t!).header.rcode, RCODE.SERVFAIL);
      assert.equal(events.length, 0);
      assert.equal(proxy.stats.snapshot().upstreamErrors + proxy.stats.snapshot().upstreamTimeouts, 2);
    } finally {
      await proxy.close();
    }
  });
});

describe('DnsProxy with a misbehaving upstream', { timeout: 30_000 }, () => {
  /** A fake UDP upstream that answers every query with what `reply(query)` gives (several datagrams). */
  async function fakeUpstream(
    reply: (query: Buffer) => Uint8Array[],
  ): Promise<{ at: DnsServerAddress; close: () => void }> {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      for (const r of reply(msg)) sock.send(r, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    return { at: { ip: '127.0.0.1', port: sock.address().port }, close: () => sock.close() };
  }

  /** An answer to `query` claiming one A record whose RDATA is cut short. */
  function brokenAnswer(query: Buffer): Uint8Array {
    const q = parsed(query);
    const good = encodeMessage({
      header: { id: q.header.id, qr: true, rd: true, ra: true },
      questions: q.questions,
      answers: [
        {
          name: q.questions[0]!.name,
          type: RR_TYPE.A,
          class: 1,
          ttl: 30,
          data: { kind: 'A', address: '198.51.100.7' },
        },
      ],
    });
    return good.subarray(0, good.length - 2);
  }

  it('passes on, but does not learn from, an answer whose records do not parse; ignores garbage', async () => {
    const up = await fakeUpstream((q) => [Uint8Array.of(0xde, 0xad), brokenAnswer(q)]);
    const { proxy, at, events } = await proxyFor(up.at);
    try {
      const q = encodeQuery(77, 'evil.example.com', RR_TYPE.A);
      const reply = await udpExchange(at, q);
      assert.deepEqual(new Uint8Array(reply), brokenAnswer(Buffer.from(q)));
      assert.equal(events.length, 0, 'nothing learned');
      const s = proxy.stats.snapshot();
      assert.equal(s.upstreamParseErrors, 1);
      assert.equal(s.upstreamIgnored, 1);
      assert.equal(s.answers, 0);
    } finally {
      await proxy.close();
      up.close();
    }
  });

  it('ignores replies with another id or question and answers SERVFAIL when no real reply comes', async () => {
    const up = await fakeUpstream((query) => {
      const q = parsed(query);
      const a = {
        name: 'evil.example.com',
        type: RR_TYPE.A,
        class: 1,
        ttl: 30,
        data: { kind: 'A', address: '198.51.100.7' },
      } as const;
      return [
        encodeMessage({
          header: { id: (q.header.id + 1) & 0xffff, qr: true },
          questions: q.questions,
          answers: [a],
        }),
        encodeMessage({
          header: { id: q.header.id, qr: true },
          questions: [{ name: 'other.example.com', type: RR_TYPE.A, class: 1 }],
          answers: [a],
        }),
        Uint8Array.from(query), // the query echoed back (QR clear)
      ];
    });
    const { proxy, at, events } = await proxyFor(up.at, { upstreamTimeoutMs: 300 });
    try {
      const m = parsed(await udpExchange(at, encodeQuery(78, 'evil.example.com', RR_TYPE.A)));
      assert.equal(m.header.rcode, RCODE.SERVFAIL);
      assert.equal(events.length, 0);
      const s = proxy.stats.snapshot();
      assert.equal(s.upstreamIgnored, 3);
      assert.equal(s.upstreamTimeouts, 1);
    } finally {
      await proxy.close();
      up.close();
    }
  });
});
