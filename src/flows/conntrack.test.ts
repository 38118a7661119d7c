import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conntrackKeys, parseConntrackLine } from './conntrack.js';

// Lines as conntrack-tools 1.4.7 prints them (captured in a network namespace with accounting on).
const NEW_TCP =
  '    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.65.0.2 dst=10.65.0.3 sport=35472 dport=8080 [UNREPLIED] src=10.65.0.3 dst=10.65.0.2 sport=8080 dport=35472 id=3679559304';
const DESTROY_TCP =
  '[DESTROY] ipv4     2 tcp      6 119 TIME_WAIT src=10.65.0.2 dst=10.65.0.3 sport=35472 dport=8080 packets=5 bytes=273 src=10.65.0.3 dst=10.65.0.2 sport=8080 dport=35472 packets=3 bytes=164 [ASSURED] id=3679559304 [USERSPACE] portid=4030596658';
const LIST_UDP =
  'ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=54938 dport=9 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=9 dport=54938 packets=0 bytes=0 mark=0 use=1 id=3008177350';
const ICMP =
  '[DESTROY] ipv4     2 icmp     1 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 packets=2 bytes=168 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77 packets=2 bytes=168 id=99';
const DNAT =
  '[DESTROY] ipv6     10 tcp      6 src=fd00::1 dst=fd00::a sport=1000 dport=80 packets=4 bytes=300 src=fd00::5 dst=fd00::1 sport=8080 dport=1000 packets=3 bytes=200 id=5';

describe('parseConntrackLine', () => {
  it('reads events, both tuples, the counters each way and the entry id', () => {
    const n = parseConntrackLine(NEW_TCP);
    assert.deepEqual(n, {
      event: 'new',
      family: 4,
      protocol: 6,
      original: { src: '10.65.0.2', dst: '10.65.0.3', sport: 35472, dport: 8080 },
      reply: { src: '10.65.0.3', dst: '10.65.0.2', sport: 8080, dport: 35472 },
      originalCounters: { packets: 0, bytes: 0 },
      replyCounters: { packets: 0, bytes: 0 },
      id: 3679559304,
    });
    const d = parseConntrackLine(DESTROY_TCP);
    assert.equal(d?.event, 'destroy');
    assert.deepEqual(d.originalCounters, { packets: 5, bytes: 273 });
    assert.deepEqual(d.replyCounters, { packets: 3, bytes: 164 });
    const l = parseConntrackLine(LIST_UDP);
    assert.equal(l?.event, 'entry');
    assert.equal(l.protocol, 17);
    assert.deepEqual(l.originalCounters, { packets: 1, bytes: 29 });
  });

  it('keeps ICMP echo ids apart from the entry id', () => {
    const e = parseConntrackLine(ICMP);
    assert.equal(e?.id, 99);
    assert.equal(e.original.sport, 77);
    assert.equal(e.reply.sport, 77);
    assert.deepEqual(e.replyCounters, { packets: 2, bytes: 168 });
  });

  it('gives the DNAT-ed tuple (reply reversed) as a second key', () => {
    const e = parseConntrackLine(DNAT);
    assert.ok(e !== undefined);
    assert.equal(e.family, 6);
    assert.deepEqual(conntrackKeys(e), ['6 fd00::1 1000 fd00::a 80', '6 fd00::1 1000 fd00::5 8080']);
  });

  it('ignores what is not an entry', () => {
    for (const l of [
      '',
      'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.',
      '[FOO] ipv4 2 tcp 6',
    ])
      assert.equal(parseConntrackLine(l), undefined, l);
  });
});
