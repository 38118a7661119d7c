import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { BGPFilter } from './bgp-types.js';

const filter = (spec: unknown): unknown => doc('BGPFilter', spec, { name: 'f1' });
const v4 = (rule: unknown): unknown => filter({ importV4: [rule] });
const v6 = (rule: unknown): unknown => filter({ exportV6: [rule] });

describe('BGPFilter', () => {
  it('decodes rules of all four lists with every match and operation', () => {
    const f = decodeOk(
      filter({
        exportV4: [
          {
            cidr: '10.0.0.0/8',
            matchOperator: 'In',
            prefixLength: { min: 16, max: 24 },
            source: 'RemotePeers',
            interface: 'eth*',
            peerType: 'eBGP',
            communities: { values: ['65000:100'] },
            asPathPrefix: [65_001, '1.2'],
            priority: 512,
            action: 'Accept',
            operations: [
              { addCommunity: { value: '1:2:3' } },
              { prependASPath: { prefix: [65_000] } },
              { setPriority: { value: 100 } },
            ],
          },
        ],
        importV4: [{ action: 'Reject' }],
        exportV6: [{ cidr: 'fd00::/8', matchOperator: 'NotIn', action: 'Reject' }],
        importV6: [{ cidr: 'fd00::1', matchOperator: 'Equal', action: 'Accept' }],
      }),
    ) as BGPFilter;
    assert.deepEqual(f.spec.exportV4?.[0]?.asPathPrefix, [65_001, 65_538]);
  });

  it('requires an action of Accept or Reject', () => {
    expectIssue(v4({ cidr: '10.0.0.0/8', matchOperator: 'In' }), 'spec.importV4[0].action', 'required');
    expectIssue(v4({ action: 'Drop' }), 'spec.importV4[0].action', '"Drop"');
  });

  it('requires cidr and matchOperator together, and cidr for prefixLength', () => {
    expectIssue(v4({ cidr: '10.0.0.0/8', action: 'Accept' }), 'spec.importV4[0].matchOperator', 'both');
    expectIssue(v4({ matchOperator: 'In', action: 'Accept' }), 'spec.importV4[0].cidr', 'both');
    expectIssue(
      v4({ prefixLength: { min: 8 }, action: 'Accept' }),
      'spec.importV4[0].prefixLength',
      'cidr is required',
    );
    expectIssue(
      v4({ cidr: '10.0.0.0/8', matchOperator: 'Within', action: 'Accept' }),
      'spec.importV4[0].matchOperator',
      '"Within"',
    );
  });

  it('checks the CIDR family and masking per list', () => {
    expectIssue(
      v4({ cidr: 'fd00::/8', matchOperator: 'In', action: 'Accept' }),
      'spec.importV4[0].cidr',
      'IPv4',
    );
    expectIssue(
      v6({ cidr: '10.0.0.0/8', matchOperator: 'In', action: 'Accept' }),
      'spec.exportV6[0].cidr',
      'IPv6',
    );
    expectIssue(
      v4({ cidr: '10.0.0.1/8', matchOperator: 'In', action: 'Accept' }),
      'spec.importV4[0].cidr',
      'host bits',
    );
  });

  it('bounds prefix lengths per family', () => {
    expectIssue(
      v4({ cidr: '10.0.0.0/8', matchOperator: 'In', prefixLength: { max: 33 }, action: 'Accept' }),
      'spec.importV4[0].prefixLength.max',
    );
    decodeOk(
      v6({ cidr: 'fd00::/8', matchOperator: 'In', prefixLength: { min: 0, max: 128 }, action: 'Accept' }),
    );
    expectIssue(
      v6({ cidr: 'fd00::/8', matchOperator: 'In', prefixLength: { min: 129 }, action: 'Accept' }),
      'spec.exportV6[0].prefixLength.min',
    );
  });

  it('checks source, interface, peerType, communities, asPathPrefix and priority', () => {
    expectIssue(v4({ source: 'Local', action: 'Accept' }), 'spec.importV4[0].source', '"Local"');
    expectIssue(v4({ interface: 'a very long name', action: 'Accept' }), 'spec.importV4[0].interface');
    expectIssue(v4({ peerType: 'IBGP', action: 'Accept' }), 'spec.importV4[0].peerType', '"IBGP"');
    expectIssue(
      v4({ communities: { values: [] }, action: 'Accept' }),
      'spec.importV4[0].communities.values',
      'too few',
    );
    expectIssue(
      v4({ communities: { values: ['1:1', '2:2'] }, action: 'Accept' }),
      'spec.importV4[0].communities.values',
      'too many',
    );
    expectIssue(
      v4({ communities: { values: ['65536:1'] }, action: 'Accept' }),
      'spec.importV4[0].communities.values[0]',
    );
    expectIssue(v4({ asPathPrefix: ['x'], action: 'Accept' }), 'spec.importV4[0].asPathPrefix[0]');
    expectIssue(v4({ priority: 0, action: 'Accept' }), 'spec.importV4[0].priority');
  });

  it('checks operations: Accept only, 1-10 entries, exactly one field each', () => {
    expectIssue(
      v4({ action: 'Reject', operations: [{ setPriority: { value: 5 } }] }),
      'spec.importV4[0].operations',
      'Accept',
    );
    expectIssue(v4({ action: 'Accept', operations: [] }), 'spec.importV4[0].operations', 'too few');
    const eleven = Array.from({ length: 11 }, () => ({ setPriority: { value: 5 } }));
    expectIssue(v4({ action: 'Accept', operations: eleven }), 'spec.importV4[0].operations', 'too many');
    expectIssue(v4({ action: 'Accept', operations: [{}] }), 'spec.importV4[0].operations[0]', 'exactly one');
    expectIssue(
      v4({ action: 'Accept', operations: [{ setPriority: { value: 5 }, addCommunity: { value: '1:1' } }] }),
      'spec.importV4[0].operations[0]',
      'exactly one',
    );
    expectIssue(
      v4({ action: 'Accept', operations: [{ prependASPath: { prefix: [] } }] }),
      'spec.importV4[0].operations[0].prependASPath.prefix',
    );
    expectIssue(
      v4({ action: 'Accept', operations: [{ addCommunity: { value: 'x' } }] }),
      'spec.importV4[0].operations[0].addCommunity.value',
    );
  });
});
