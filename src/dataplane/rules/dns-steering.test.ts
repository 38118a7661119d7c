import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderDnsSteering } from './dns-steering.js';
import { BASE_CHAIN, CHAIN } from './names.js';
import { renderStaticChains } from './static.js';
import { DEFAULT_RULES_CONFIG } from './config.js';

const text = (r: string | { rule: string }) => (typeof r === 'string' ? r : r.rule);

describe('DNS steering chains', () => {
  const chains = renderDnsSteering(
    ['cali'],
    [
      {
        server: { ip: '10.65.0.10', port: 53 },
        proxyUdp: { ip: '192.168.0.1', port: 40001 },
        proxyTcp: { ip: '192.168.0.1', port: 40002 },
      },
      {
        server: { ip: 'fd00::10', port: 5353 },
        proxyUdp: { ip: 'fd00::1', port: 40003 },
        proxyTcp: { ip: 'fd00::1', port: 40004 },
      },
    ],
  );
  const byName = new Map(chains.map((c) => [c.name, c]));
  const must = (name: string) => {
    const c = byName.get(name);
    assert.ok(c, name);
    return c;
  };

  it('polices new queries to trusted servers in prerouting, before the DNAT', () => {
    const pre = must(BASE_CHAIN.dnsPrerouting);
    const prio = pre.hook?.priority;
    assert.equal(pre.hook?.hook, 'prerouting');
    assert.ok(prio !== undefined && prio < -100 && prio > -150);
    assert.deepEqual(pre.rules.map(text), [
      `iifname "cali*" ct state new meta l4proto { tcp, udp } ip daddr 10.65.0.10 th dport 53 jump ${CHAIN.dnsPolicy}`,
      `iifname "cali*" ct state new meta l4proto { tcp, udp } ip6 daddr fd00::10 th dport 5353 jump ${CHAIN.dnsPolicy}`,
    ]);
    const policy = byName.get(CHAIN.dnsPolicy)?.rules.map(text) ?? [];
    assert.ok(policy.includes(`jump ${CHAIN.fromWl}`), 'the workload egress policy decides');
    assert.equal(policy.at(-1), 'drop');
  });

  it('DNATs marked queries to the proxy per transport and family', () => {
    const dnat = byName.get(CHAIN.dnsDnat)?.rules.map(text) ?? [];
    assert.ok(
      dnat.some((r) =>
        r.endsWith('meta l4proto udp ip daddr 10.65.0.10 th dport 53 dnat ip to 192.168.0.1:40001'),
      ),
    );
    assert.ok(
      dnat.some((r) =>
        r.endsWith('meta l4proto tcp ip6 daddr fd00::10 th dport 5353 dnat ip6 to [fd00::1]:40004'),
      ),
    );
    assert.equal(byName.get(BASE_CHAIN.natPrerouting)?.hook?.type, 'nat');
  });

  it('refuses a proxy of another family than its server; no routes steer nothing', () => {
    assert.throws(() =>
      renderDnsSteering(
        ['cali'],
        [
          {
            server: { ip: '10.0.0.1', port: 53 },
            proxyUdp: { ip: 'fd00::1', port: 1 },
            proxyTcp: { ip: '10.0.0.2', port: 2 },
          },
        ],
      ),
    );
    const empty = renderDnsSteering(['cali'], []);
    assert.deepEqual(empty.find((c) => c.name === BASE_CHAIN.dnsPrerouting)?.rules, []);
  });

  it('filter INPUT admits steered queries before the workload-to-host chain', () => {
    const input =
      renderStaticChains(DEFAULT_RULES_CONFIG)
        .find((c) => c.name === CHAIN.input)
        ?.rules.map(text) ?? [];
    const steered = input.findIndex((r) => r.includes('ct status dnat counter accept'));
    const wl = input.findIndex((r) => r.includes(`goto ${CHAIN.wlToHost}`));
    assert.ok(steered >= 0 && steered < wl);
  });
});
