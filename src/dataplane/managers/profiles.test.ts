import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManagerBench, rule } from '../testing/dataplane.js';
import { ProfileManager } from './profiles.js';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';

describe('ProfileManager', () => {
  it('programs a chain per direction, follows the configuration, and removes both chains', async () => {
    const b = new ManagerBench((t) => [new ProfileManager(t)]);
    const profile = {
      inboundRules: [rule({ action: 'log' }), rule()],
      outboundRules: [rule({ action: 'deny' })],
    };
    await b.apply({ kind: 'activeProfileUpdate', id: 'kns.shop', profile });
    assert.deepEqual(b.chain('filter-cali-pri-kns.shop'), [
      'log prefix "calico-packet: " level info log prefix "calico-packet: " group 20',
      'meta mark set meta mark | 0x00010000 return',
    ]);
    assert.deepEqual(b.chain('filter-cali-pro-kns.shop'), ['drop']);
    await b.apply({
      kind: 'configUpdate',
      config: { ...DEFAULT_FELIX_CONFIG, logPrefix: '%k %n', nftablesFilterDenyAction: 'Reject' },
      sources: {},
    });
    assert.match(b.chain('filter-cali-pri-kns.shop')?.[0] ?? '', /^log prefix "pro kns.shop: "/);
    assert.deepEqual(b.chain('filter-cali-pro-kns.shop'), ['reject with icmpx admin-prohibited']);
    await b.apply({ kind: 'activeProfileRemove', id: 'kns.shop' });
    assert.deepEqual(b.chains(), []);
  });
});
