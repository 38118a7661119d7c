import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue, issuesOf } from '../testing.js';
import { ipPoolUpdateIssues, type IPPool } from './ip-pool.js';

const pool = (spec: unknown, name = 'p1'): unknown => doc('IPPool', spec, { name });

describe('IPPool', () => {
  it('applies Calico defaults (v4 and v6)', () => {
    const v4 = decodeOk(pool({ cidr: '10.0.0.0/16' })) as IPPool;
    assert.deepEqual(v4.spec, {
      cidr: '10.0.0.0/16',
      vxlanMode: 'Never',
      ipipMode: 'Never',
      blockSize: 26,
      nodeSelector: 'all()',
      allowedUses: ['Tunnel', 'Workload'],
      assignmentMode: 'Automatic',
    });
    const v6 = decodeOk(
      pool({ cidr: 'FD00:0::/64', blockSize: 0, nodeSelector: '', vxlanMode: '' }),
    ) as IPPool;
    assert.equal(v6.spec.cidr, 'fd00::/64', 'normalised');
    assert.equal(v6.spec.blockSize, 122);
    assert.equal(v6.spec.nodeSelector, 'all()');
    assert.equal(v6.spec.vxlanMode, 'Never');
    const kept = decodeOk(
      pool({ cidr: '10.0.0.0/16', allowedUses: ['Workload'], natOutgoing: true, nodeSelector: "a == 'b'" }),
    ) as IPPool;
    assert.deepEqual(kept.spec.allowedUses, ['Workload']);
    assert.equal(kept.spec.natOutgoing, true);
    assert.equal(kept.spec.nodeSelector, "a == 'b'");
  });

  it('requires a strictly masked CIDR', () => {
    expectIssue(pool({}), 'spec.cidr', 'required');
    expectIssue(pool({ cidr: '10.0.0.1/16' }), 'spec.cidr', 'not strictly masked', '"10.0.0.0/16"');
    expectIssue(pool({ cidr: 'banana' }), 'spec.cidr', '"banana"');
  });

  it('rejects overlap with link-local ranges', () => {
    expectIssue(pool({ cidr: '169.254.0.0/20' }), 'spec.cidr', '169.254.0.0/16');
    expectIssue(pool({ cidr: '169.0.0.0/8' }), 'spec.cidr', 'link-local');
    expectIssue(pool({ cidr: 'fe80::/64' }), 'spec.cidr', 'fe80::/10');
    decodeOk(pool({ cidr: '169.255.0.0/16' }));
  });

  it('checks block size ranges and that the pool is at least one block', () => {
    expectIssue(pool({ cidr: '10.0.0.0/16', blockSize: 19 }), 'spec.blockSize', '20 to 32');
    expectIssue(pool({ cidr: '10.0.0.0/16', blockSize: 33 }), 'spec.blockSize', '20 to 32');
    expectIssue(pool({ cidr: 'fd00::/64', blockSize: 115 }), 'spec.blockSize', '116 to 128');
    decodeOk(pool({ cidr: '10.0.0.0/16', blockSize: 20 }));
    decodeOk(pool({ cidr: 'fd00::/64', blockSize: 128 }));
    expectIssue(pool({ cidr: '10.0.0.0/28' }), 'spec.cidr', 'too small', '26');
    decodeOk(pool({ cidr: '10.0.0.0/28', disabled: true }));
    decodeOk(pool({ cidr: '10.0.0.0/28', blockSize: 28 }));
  });

  it('checks encapsulation modes', () => {
    expectIssue(pool({ cidr: '10.0.0.0/16', ipipMode: 'Sometimes' }), 'spec.ipipMode', '"Sometimes"');
    expectIssue(
      pool({ cidr: '10.0.0.0/16', ipipMode: 'Always', vxlanMode: 'CrossSubnet' }),
      'spec.ipipMode',
      'cannot both be enabled',
    );
    decodeOk(pool({ cidr: '10.0.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Never' }));
    expectIssue(pool({ cidr: 'fd00::/64', ipipMode: 'Always' }), 'spec.ipipMode', 'IPv6');
    decodeOk(pool({ cidr: 'fd00::/64', vxlanMode: 'Always' }));
  });

  it('checks selectors: valid, no global(), namespaceSelector not with Tunnel', () => {
    expectIssue(pool({ cidr: '10.0.0.0/16', nodeSelector: 'a ==' }), 'spec.nodeSelector', 'invalid selector');
    expectIssue(pool({ cidr: '10.0.0.0/16', nodeSelector: 'global()' }), 'spec.nodeSelector', 'global()');
    expectIssue(
      pool({ cidr: '10.0.0.0/16', namespaceSelector: "t == 'x'", allowedUses: ['Tunnel', 'Workload'] }),
      'spec.namespaceSelector',
      'Tunnel',
    );
    decodeOk(pool({ cidr: '10.0.0.0/16', namespaceSelector: "t == 'x'", allowedUses: ['Workload'] }));
  });

  it('checks allowed uses and the LoadBalancer rules', () => {
    expectIssue(pool({ cidr: '10.0.0.0/16', allowedUses: ['Bogus'] }), 'spec.allowedUses[0]', '"Bogus"');
    expectIssue(
      pool({ cidr: '10.0.0.0/16', allowedUses: ['Workload', 'Workload'] }),
      'spec.allowedUses[1]',
      'duplicate',
    );
    decodeOk(pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'] }));
    expectIssue(
      pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer', 'Workload'] }),
      'spec.allowedUses',
      'LoadBalancer cannot be combined',
    );
    expectIssue(
      pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], nodeSelector: "a == 'b'" }),
      'spec.nodeSelector',
      'all()',
    );
    expectIssue(
      pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], vxlanMode: 'Always' }),
      'spec.allowedUses',
      'encapsulation',
    );
    expectIssue(
      pool({ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], disableBGPExport: true }),
      'spec.disableBGPExport',
      'cannot disable',
    );
  });

  it('checks assignmentMode, legacy fields, status and the name', () => {
    expectIssue(
      pool({ cidr: '10.0.0.0/16', assignmentMode: 'Sometimes' }),
      'spec.assignmentMode',
      '"Sometimes"',
    );
    assert.equal(
      (decodeOk(pool({ cidr: '10.0.0.0/16', assignmentMode: 'Manual' })) as IPPool).spec.assignmentMode,
      'Manual',
    );
    expectIssue(pool({ cidr: '10.0.0.0/16', ipip: { enabled: true } }), 'spec.ipip', 'deprecated');
    expectIssue(pool({ cidr: '10.0.0.0/16', 'nat-outgoing': true }), 'spec.nat-outgoing', 'deprecated');
    decodeOk({ ...(pool({ cidr: '10.0.0.0/16' }) as object), status: { conditions: [] } });
    expectIssue(pool({ cidr: '10.0.0.0/16' }, 'Bad_Name'), 'metadata.name', '"Bad_Name"');
    assert.ok(issuesOf(pool({ cidr: '10.0.0.0/16', unknown: 1 })).some((i) => i.path === 'spec.unknown'));
  });

  it('keeps the CIDR and block size immutable on update', () => {
    const a = (decodeOk(pool({ cidr: '10.0.0.0/16' })) as IPPool).spec;
    assert.deepEqual(ipPoolUpdateIssues(a, { ...a, natOutgoing: true }), []);
    const issues = ipPoolUpdateIssues(a, { ...a, cidr: '10.1.0.0/16', blockSize: 24 });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['spec.cidr', 'spec.blockSize'],
    );
  });
});
