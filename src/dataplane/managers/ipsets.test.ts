import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BugError } from '../../lib/errors.js';
import { ManagerBench, send } from '../testing/dataplane.js';
import { IpSetsManager } from './ipsets.js';

describe('IpSetsManager', () => {
  it('writes a new set whole, one per family, then sends only the net member changes', async () => {
    const b = new ManagerBench((t) => [new IpSetsManager(t)]);
    await b.apply({ kind: 'ipSetUpdate', id: 's:abc', type: 'net', members: ['10.0.0.1/32', 'fd00::1/128'] });
    assert.deepEqual(b.set('cali40s-abc'), ['10.0.0.1']);
    assert.deepEqual(b.set('cali60s-abc'), ['fd00::1']);
    b.kernel.runner.clearCalls();
    await b.apply(
      { kind: 'ipSetDeltaUpdate', id: 's:abc', added: ['10.0.0.2/32'], removed: ['10.0.0.1/32'] },
      { kind: 'ipSetDeltaUpdate', id: 's:abc', added: ['10.0.0.3/32'], removed: ['10.0.0.2/32'] },
    );
    assert.deepEqual(b.kernel.scripts(), [
      'add table inet calico\n' +
        'delete element inet calico cali40s-abc { 10.0.0.1 }\n' +
        'add element inet calico cali40s-abc { 10.0.0.3 }\n',
    ]);
    assert.deepEqual(b.set('cali40s-abc'), ['10.0.0.3']);
  });

  it('named-port sets hold address . protocol . port; a removed set goes from both families', async () => {
    const b = new ManagerBench((t) => [new IpSetsManager(t)]);
    await b.apply({ kind: 'ipSetUpdate', id: 'n:xyz', type: 'ipPort', members: ['10.0.0.1,tcp,80'] });
    assert.deepEqual(b.set('cali40n-xyz'), ['10.0.0.1 . 6 . 80']);
    assert.equal(b.kernel.nft.state.sets.get('cali60n-xyz')?.type, 'ipv6_addr . inet_proto . inet_service');
    await b.apply({ kind: 'ipSetRemove', id: 'n:xyz' });
    assert.equal(b.set('cali40n-xyz'), undefined);
    assert.equal(b.set('cali60n-xyz'), undefined);
    // Removed and created again in one batch: the set is there, whole.
    await b.apply(
      { kind: 'ipSetUpdate', id: 's:a', type: 'net', members: ['10.0.0.1/32'] },
      { kind: 'ipSetRemove', id: 's:a' },
      { kind: 'ipSetUpdate', id: 's:a', type: 'net', members: ['10.0.0.9/32'] },
    );
    assert.deepEqual(b.set('cali40s-a'), ['10.0.0.9']);
  });

  it('a delta for a set it was never sent is a bug (the loop resyncs), not something to ignore', () => {
    const m = new IpSetsManager(new ManagerBench(() => []).table);
    assert.throws(() => {
      send(m, { kind: 'ipSetDeltaUpdate', id: 's:nope', added: ['10.0.0.1/32'], removed: [] });
    }, BugError);
    send(m, { kind: 'ipSetUpdate', id: 's:a', type: 'net', members: [] });
    m.reset();
    assert.throws(
      () => {
        send(m, { kind: 'ipSetDeltaUpdate', id: 's:a', added: ['10.0.0.1/32'], removed: [] });
      },
      BugError,
      'reset forgets every set',
    );
  });
});
