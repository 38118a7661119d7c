/** EnsureInitialized's pure parts: Calico's `kdd` cluster type on the Kubernetes datastore. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterTypeFor } from './initialize.js';

describe('clusterTypeFor', () => {
  it('appends kdd last on the Kubernetes datastore, as clientv3 ensureClusterInformation does', () => {
    const kdd = { type: 'kubernetes' } as const;
    assert.equal(clusterTypeFor(kdd, 'k8s,bgp'), 'k8s,bgp,kdd');
    assert.equal(clusterTypeFor(kdd, 'k8s,bgp,'), 'k8s,bgp,kdd', 'a trailing comma is trimmed');
    assert.equal(clusterTypeFor(kdd, ''), 'kdd');
    assert.equal(clusterTypeFor(kdd, 'calico-ts'), 'calico-ts,kdd');
  });

  it('leaves other datastores alone', () => {
    assert.equal(clusterTypeFor({ type: 'etcdv3' }, 'k8s,bgp'), 'k8s,bgp');
    assert.equal(clusterTypeFor({ type: 'embedded' }, ''), '');
  });
});
