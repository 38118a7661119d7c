import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { BlockAffinity } from './block-affinity.js';
import type { IPAMConfiguration } from './ipam-config.js';
import type { IPAMBlock } from './ipam-block.js';
import type { IPAMHandle } from './ipam-handle.js';
import type { IPReservation } from './ip-reservation.js';

describe('IPReservation', () => {
  it('accepts CIDRs (host bits allowed) and addresses, and rejects garbage', () => {
    const r = decodeOk(
      doc('IPReservation', { reservedCIDRs: ['10.0.0.0/24', '10.0.1.5/24', 'fd00::1'] }, { name: 'r' }),
    ) as IPReservation;
    assert.deepEqual(r.spec.reservedCIDRs, ['10.0.0.0/24', '10.0.1.5/24', 'fd00::1']);
    expectIssue(
      doc('IPReservation', { reservedCIDRs: ['10.0.0.0/33'] }, { name: 'r' }),
      'spec.reservedCIDRs[0]',
      '"10.0.0.0/33"',
    );
  });
});

describe('IPAMConfiguration', () => {
  const cfg = (spec: unknown, name = 'default'): unknown => doc('IPAMConfiguration', spec, { name });

  it('defaults strictAffinity false and autoAllocateBlocks true', () => {
    const c = decodeOk(cfg({})) as IPAMConfiguration;
    assert.deepEqual(c.spec, { strictAffinity: false, autoAllocateBlocks: true });
  });

  it('enforces the singleton name, field ranges and the cross-field rules', () => {
    expectIssue(cfg({}, 'other'), 'metadata.name', '"default"');
    expectIssue(cfg({ maxBlocksPerHost: -1 }), 'spec.maxBlocksPerHost', 'out of range');
    expectIssue(cfg({ ipCooldownSeconds: 1201 }), 'spec.ipCooldownSeconds', '0 to 1200');
    expectIssue(
      cfg({ kubeVirtVMAddressPersistence: 'Maybe' }),
      'spec.kubeVirtVMAddressPersistence',
      '"Maybe"',
    );
    expectIssue(
      cfg({ strictAffinity: false, autoAllocateBlocks: false }),
      'spec.autoAllocateBlocks',
      'strictAffinity',
    );
    expectIssue(cfg({ maxBlocksPerHost: 4 }), 'spec.maxBlocksPerHost', 'strictAffinity is true');
    decodeOk(
      cfg({ strictAffinity: true, maxBlocksPerHost: 4, autoAllocateBlocks: false, ipCooldownSeconds: 1200 }),
    );
    decodeOk(cfg({ kubeVirtVMAddressPersistence: 'Disabled' }));
  });
});

describe('IPAM internal kinds', () => {
  it('IPAMBlock decodes what the allocator writes, with null allocations', () => {
    const b = decodeOk(
      doc(
        'IPAMBlock',
        {
          cidr: '10.0.0.0/30',
          affinity: 'host:n1',
          allocations: [0, null, null, null],
          unallocated: [1, 2, 3],
          attributes: [{ handle_id: 'h', secondary: { node: 'n1' } }],
          sequenceNumber: 5,
          sequenceNumberForAllocation: { '0': 4 },
          deleted: false,
        },
        { name: '10-0-0-0-30' },
      ),
    ) as IPAMBlock;
    assert.deepEqual(b.spec.allocations, [0, null, null, null]);
    expectIssue(
      doc(
        'IPAMBlock',
        { cidr: '10.0.0.0/30', allocations: ['x'], unallocated: [], attributes: [], sequenceNumber: 0 },
        { name: 'b' },
      ),
      'spec.allocations[0]',
      '"x"',
    );
    expectIssue(doc('IPAMBlock', { cidr: '10.0.0.0/30' }, { name: 'b' }), 'spec.allocations', 'required');
  });

  it('BlockAffinity decodes states and normalises the deleted flag', () => {
    const a = decodeOk(
      doc(
        'BlockAffinity',
        { state: 'confirmed', node: 'n1', cidr: '10.0.0.0/26', deleted: 'false' },
        { name: 'n1-10-0-0-0-26' },
      ),
    ) as BlockAffinity;
    assert.equal(a.spec.deleted, false);
    decodeOk(
      doc('BlockAffinity', { state: '', node: 'n1', cidr: '10.0.0.0/26', type: 'virtual' }, { name: 'x' }),
    );
    expectIssue(
      doc('BlockAffinity', { state: 'maybe', node: 'n1', cidr: '10.0.0.0/26' }, { name: 'x' }),
      'spec.state',
      '"maybe"',
    );
    expectIssue(
      doc(
        'BlockAffinity',
        { state: 'pending', node: 'n1', cidr: '10.0.0.0/26', deleted: true },
        { name: 'x' },
      ),
      'spec.deleted',
      'must not',
    );
  });

  it('IPAMHandle decodes the block counts', () => {
    const h = decodeOk(
      doc(
        'IPAMHandle',
        { handleID: 'k8s-pod-network.abc', block: { '10.0.0.0/26': 2 } },
        { name: 'k8s-pod-network.abc' },
      ),
    ) as IPAMHandle;
    assert.deepEqual(h.spec.block, { '10.0.0.0/26': 2 });
    expectIssue(
      doc('IPAMHandle', { handleID: 'h', block: { '10.0.0.0/26': -1 } }, { name: 'h' }),
      'spec.block["10.0.0.0/26"]',
      'out of range',
    );
  });
});
