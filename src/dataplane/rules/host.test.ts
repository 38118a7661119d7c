import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostEndpointMsg, TierInfo } from '../../calc/messages.js';
import type { ChainSpec, RuleInput } from '../nftables/model.js';
import { hep as hostEndpointUpdate } from '../testing/dataplane.js';
import { DEFAULT_RULES_CONFIG } from './config.js';
import { tierChainRef } from './endpoints.js';
import { renderHostDispatch, renderHostEndpoint } from './host.js';
import { CHAIN } from './names.js';
import { renderStaticChains, STATIC_MAPS } from './static.js';

function hep(interfaceName: string, over: Partial<HostEndpointMsg> = {}): HostEndpointMsg {
  return hostEndpointUpdate('edge', { interfaceName, ...over }).endpoint;
}

const text = (rules: readonly RuleInput[]): string[] =>
  rules.map((r) =>
    typeof r === 'string' ? r : r.comment !== undefined ? `${r.rule} # ${r.comment}` : r.rule,
  );

function chain(chains: readonly ChainSpec[], name: string): string[] {
  const c = chains.find((x) => x.name === name);
  assert.ok(c !== undefined, `no chain ${name} in ${chains.map((x) => x.name).join(', ')}`);
  return text(c.rules);
}

const CFG = DEFAULT_RULES_CONFIG;
const CONNTRACK = ['ct state established,related accept', 'ct state invalid drop'];
const CLEAR = 'meta mark set meta mark & 0xfffcffff';

const fwdTier: TierInfo = {
  name: 'default',
  defaultAction: 'deny',
  ingressPolicies: ['gnp/fwd-in'],
  egressPolicies: [],
};

describe('host endpoint forward chains (applyOnForward)', () => {
  it('without applyOnForward policy, forwarded traffic is allowed by default in both directions', () => {
    const r = renderHostEndpoint(
      hep('eth1', { tiers: [{ ...fwdTier, ingressPolicies: ['gnp/local'] }] }),
      CFG,
    );
    for (const [name, dir] of [
      ['filter-cali-fhfw-eth1', 'in'],
      ['filter-cali-thfw-eth1', 'out'],
    ] as const) {
      assert.deepEqual(
        chain(r.chains, name),
        [
          ...CONNTRACK,
          `${CLEAR} # host endpoint edge (forward)`,
          'meta mark set meta mark | 0x00010000 return # Allow forwarded traffic by default',
        ],
        dir,
      );
    }
    // The normal policy still applies to host traffic only, behind the failsafes.
    assert.deepEqual(chain(r.chains, 'filter-cali-fh-eth1').slice(0, 4), [
      ...CONNTRACK,
      'jump filter-cali-failsafe-in # host endpoint edge',
      CLEAR,
    ]);
  });

  it('forward tiers end like normal ones, with no failsafe, no profiles and no final drop', () => {
    const r = renderHostEndpoint(hep('eth1', { forwardTiers: [fwdTier], profileIds: ['p'] }), CFG);
    const tier = tierChainRef('filter', 'ingress', fwdTier, true)!;
    assert.deepEqual(chain(r.chains, 'filter-cali-fhfw-eth1'), [
      ...CONNTRACK,
      `${CLEAR} # host endpoint edge (forward)`,
      `jump ${tier.name} # tier default`,
      'meta mark & 0x00010000 == 0x00010000 return',
    ]);
    // Forward policy exists, but none for egress: the chain falls off its end (not dropped, not marked).
    assert.deepEqual(chain(r.chains, 'filter-cali-thfw-eth1'), [
      ...CONNTRACK,
      `${CLEAR} # host endpoint edge (forward)`,
    ]);
    assert.ok(r.tierChains.some((t) => t.name === tier.name && t.tierEndDrops));
    assert.deepEqual(
      r.entries.filter(([m]) => m.includes('fwd')),
      [
        ['cali-from-hep-fwd-dispatch', 'eth1', 'goto filter-cali-fhfw-eth1'],
        ['cali-to-hep-fwd-dispatch', 'eth1', 'goto filter-cali-thfw-eth1'],
      ],
    );
  });

  it('the * endpoint is the forward dispatch default for every interface, workload ones included', () => {
    const any = renderHostEndpoint(hep('*'), CFG);
    assert.deepEqual(any.targets, {
      fromHost: 'filter-cali-fh-any',
      toHost: 'filter-cali-th-any',
      fromForward: 'filter-cali-fhfw-any',
      toForward: 'filter-cali-thfw-any',
    });
    const d = renderHostDispatch(any.targets);
    assert.deepEqual(chain(d, CHAIN.fromHepFwd), [
      'iifname vmap @cali-from-hep-fwd-dispatch',
      'jump filter-cali-fhfw-any # host endpoint for all interfaces',
    ]);
    assert.deepEqual(chain(d, CHAIN.toHepFwd), [
      'oifname vmap @cali-to-hep-fwd-dispatch',
      'jump filter-cali-thfw-any # host endpoint for all interfaces',
    ]);
    assert.deepEqual(chain(d, CHAIN.fromHep), [
      'iifname vmap @cali-from-hep-dispatch',
      'iifname != "lo" jump filter-cali-fh-any # host endpoint for all interfaces',
    ]);
    assert.deepEqual(
      renderHostDispatch(undefined).map((c) => [c.name, text(c.rules)]),
      [
        [CHAIN.fromHep, ['iifname vmap @cali-from-hep-dispatch']],
        [CHAIN.toHep, ['oifname vmap @cali-to-hep-dispatch']],
        [CHAIN.fromHepFwd, ['iifname vmap @cali-from-hep-fwd-dispatch']],
        [CHAIN.toHepFwd, ['oifname vmap @cali-to-hep-fwd-dispatch']],
        [CHAIN.mangleFromHep, ['iifname vmap @cali-mangle-from-hep-dispatch']],
      ],
    );
  });

  it('cali-FORWARD: arriving host endpoint, workloads, then leaving host endpoint', () => {
    assert.equal(CHAIN.fromHepFwd, 'filter-cali-from-hep-forward');
    assert.equal(CHAIN.toHepFwd, 'filter-cali-to-hep-forward');
    assert.deepEqual(chain(renderStaticChains(DEFAULT_RULES_CONFIG), CHAIN.forward), [
      'ct state established,related accept',
      'iifname "cali*" ct state invalid drop',
      'oifname "cali*" ct state invalid drop',
      'meta mark & 0x00010000 == 0x00000000 jump filter-cali-from-hep-forward # host endpoint forward policy unless accepted by untracked or preDNAT policy',
      CLEAR,
      'iifname "cali*" jump filter-cali-from-wl-dispatch',
      'oifname "cali*" jump filter-cali-to-wl-dispatch',
      'jump filter-cali-to-hep-forward',
      'meta mark & 0x00010000 == 0x00010000 accept',
    ]);
    assert.ok(STATIC_MAPS.includes('cali-from-hep-fwd-dispatch'));
    assert.ok(STATIC_MAPS.includes('cali-to-hep-fwd-dispatch'));
    // The dispatch chains are the host endpoints' (renderHostDispatch), not static.
    assert.ok(!renderStaticChains(DEFAULT_RULES_CONFIG).some((c) => c.name === CHAIN.fromHep));
  });
});

const preTier: TierInfo = {
  name: 'default',
  defaultAction: 'deny',
  ingressPolicies: ['gnp/pre'],
  egressPolicies: [],
};

describe('host endpoint untracked and preDNAT stages (raw and mangle PREROUTING)', () => {
  it('the preDNAT chain starts with the conntrack rules, then the failsafes; its tiers never drop at their end', () => {
    const r = renderHostEndpoint(hep('eth1', { preDnatTiers: [preTier] }), CFG);
    const tier = tierChainRef('mangle', 'ingress', preTier, false)!;
    assert.deepEqual(chain(r.chains, 'mangle-cali-fh-eth1'), [
      ...CONNTRACK,
      'jump mangle-cali-failsafe-in # host endpoint edge (mangle)',
      CLEAR,
      `jump ${tier.name} # tier default`,
      'meta mark & 0x00010000 == 0x00010000 return',
    ]);
    assert.ok(r.tierChains.some((t) => t.name === tier.name && !t.tierEndDrops));
    assert.deepEqual(r.targets.preDnat, 'mangle-cali-fh-eth1');
    assert.deepEqual(
      r.entries.filter(([m]) => m.includes('mangle')),
      [['cali-mangle-from-hep-dispatch', 'eth1', 'goto mangle-cali-fh-eth1']],
    );
    // The untracked (raw) chains run before conntrack: no conntrack rules there.
    const u = renderHostEndpoint(hep('eth1', { untrackedTiers: [preTier] }), CFG);
    assert.equal(
      chain(u.chains, 'raw-cali-fh-eth1')[0],
      'jump raw-cali-failsafe-in # host endpoint edge (raw)',
    );
    assert.equal(u.targets.preDnat, undefined);
  });

  it('the * endpoint with preDNAT policy is the mangle dispatch default, for every interface', () => {
    const any = renderHostEndpoint(hep('*', { preDnatTiers: [preTier] }), CFG);
    assert.equal(any.targets.preDnat, 'mangle-cali-fh-any');
    assert.deepEqual(chain(renderHostDispatch(any.targets), CHAIN.mangleFromHep), [
      'iifname vmap @cali-mangle-from-hep-dispatch',
      'jump mangle-cali-fh-any # host endpoint for all interfaces',
    ]);
    // Without preDNAT policy on the * endpoint, an interface without its own preDNAT chain has none.
    const plain = renderHostEndpoint(hep('*'), CFG);
    assert.deepEqual(chain(renderHostDispatch(plain.targets), CHAIN.mangleFromHep), [
      'iifname vmap @cali-mangle-from-hep-dispatch',
    ]);
  });

  it('mangle PREROUTING: established flows first, then what untracked policy accepted, then dispatch', () => {
    assert.equal(CHAIN.mangleFromHep, 'mangle-cali-from-host-endpoint');
    assert.deepEqual(chain(renderStaticChains(CFG), CHAIN.manglePre), [
      'ct state established,related accept',
      'meta mark & 0x00010000 == 0x00010000 accept # accepted by untracked policy',
      'jump mangle-cali-from-host-endpoint',
      'meta mark & 0x00010000 == 0x00010000 accept # accepted by preDNAT policy',
    ]);
  });

  it('filter INPUT accepts what untracked or preDNAT policy accepted, after the workload check', () => {
    assert.deepEqual(chain(renderStaticChains(CFG), CHAIN.input), [
      'iifname "cali*" ct mark & 0x00100000 == 0x00100000 ct status dnat counter accept # DNS query steered to the node-local DNS proxy (policed in prerouting)',
      'iifname "cali*" goto filter-cali-wl-to-host',
      'meta mark & 0x00010000 == 0x00010000 accept # accepted by untracked or preDNAT policy',
      CLEAR,
      'jump filter-cali-from-host-endpoint',
      'meta mark & 0x00010000 == 0x00010000 accept',
    ]);
    assert.deepEqual(chain(renderStaticChains(CFG), CHAIN.output), [
      'meta mark & 0x00010000 == 0x00010000 accept # accepted by untracked policy',
      'oifname "cali*" return # host to local workload',
      CLEAR,
      'jump filter-cali-to-host-endpoint',
      'meta mark & 0x00010000 == 0x00010000 accept',
    ]);
  });

  it('disableConntrackInvalidCheck drops the invalid-state rule from every host endpoint chain', () => {
    const all = { ...preTier, egressPolicies: ['gnp/pre'] };
    const ep = hep('eth1', { tiers: [all], forwardTiers: [all], preDnatTiers: [preTier] });
    const names = [
      'filter-cali-fh-eth1',
      'filter-cali-th-eth1',
      'filter-cali-fhfw-eth1',
      'filter-cali-thfw-eth1',
    ];
    const on = renderHostEndpoint(ep, CFG);
    for (const n of [...names, 'mangle-cali-fh-eth1'])
      assert.deepEqual(chain(on.chains, n).slice(0, 2), CONNTRACK, n);
    const off = renderHostEndpoint(ep, { ...CFG, disableConntrackInvalidCheck: true });
    for (const n of [...names, 'mangle-cali-fh-eth1']) {
      const rules = chain(off.chains, n);
      assert.equal(rules[0], 'ct state established,related accept', n);
      assert.ok(!rules.some((r) => r.includes('invalid')), n);
    }
    // The static chains already honour it (cali-FORWARD's invalid drop on workload interfaces).
    const fwd = chain(renderStaticChains({ ...CFG, disableConntrackInvalidCheck: true }), CHAIN.forward);
    assert.ok(!fwd.some((r) => r.includes('invalid')));
  });
});
