import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, expectIssue, gnp, ingressRule, issuesOf, np } from '../testing.js';
import type { GlobalNetworkPolicy } from './policy.js';

const R = 'spec.ingress[0]';

function firstIngress(input: unknown): unknown {
  return (decodeOk(input) as GlobalNetworkPolicy).spec.ingress?.[0];
}

describe('rule fields', () => {
  it('requires an action', () => {
    expectIssue(ingressRule({ protocol: 'TCP' }), `${R}.action`, 'required');
  });

  it('rejects an unknown action, naming it', () => {
    expectIssue(ingressRule({ action: 'allow' }), `${R}.action`, '"allow"');
  });

  it('rejects ipVersion other than 4 or 6', () => {
    expectIssue(ingressRule({ action: 'Allow', ipVersion: 5 }), `${R}.ipVersion`, '5');
  });

  it('rejects invalid protocol and notProtocol values', () => {
    expectIssue(ingressRule({ action: 'Allow', protocol: 'tcpx' }), `${R}.protocol`, '"tcpx"');
    expectIssue(ingressRule({ action: 'Allow', protocol: 0 }), `${R}.protocol`, '0');
    expectIssue(ingressRule({ action: 'Allow', protocol: 256 }), `${R}.protocol`, '256');
    expectIssue(ingressRule({ action: 'Allow', notProtocol: 'bogus' }), `${R}.notProtocol`, '"bogus"');
  });

  it('rejects unknown fields in rules and entity rules', () => {
    expectIssue(ingressRule({ action: 'Allow', bogus: 1 }), `${R}.bogus`, '"bogus"');
    expectIssue(ingressRule({ action: 'Allow', source: { net: '10.0.0.0/8' } }), `${R}.source.net`, '"net"');
  });

  it('rejects wrongly typed fields, naming the value', () => {
    expectIssue(
      ingressRule({ action: 'Allow', source: { nets: '10.0.0.0/8' } }),
      `${R}.source.nets`,
      '"10.0.0.0/8"',
    );
    expectIssue(ingressRule({ action: 'Allow', source: { selector: 5 } }), `${R}.source.selector`, '5');
    expectIssue(gnp({ ingress: { action: 'Allow' } }), 'spec.ingress', 'list');
  });
});

describe('rule ports', () => {
  it('rejects invalid ports at their index', () => {
    const rule = { action: 'Allow', protocol: 'TCP', destination: { ports: [80, '70000'] } };
    expectIssue(ingressRule(rule), `${R}.destination.ports[1]`, 'invalid port "70000"');
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'TCP', destination: { ports: ['9:3'] } }),
      `${R}.destination.ports[0]`,
      '"9:3"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'TCP', source: { notPorts: [0] } }),
      `${R}.source.notPorts[0]`,
      '0',
    );
  });

  it('applies the Kubernetes port-name rules to named ports', () => {
    for (const bad of ['Http', 'a--b', '-http', 'http-', '1234x'.repeat(4), 'x_y']) {
      expectIssue(
        ingressRule({ action: 'Allow', protocol: 'TCP', destination: { ports: [bad] } }),
        `${R}.destination.ports[0]`,
        JSON.stringify(bad),
      );
    }
  });

  it('limits a port list to 50 entries', () => {
    const ports = Array.from({ length: 51 }, (_, i) => i + 1);
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'TCP', destination: { ports } }),
      `${R}.destination.ports`,
      '51',
    );
  });

  it('requires protocol TCP, UDP or SCTP for numeric ports', () => {
    expectIssue(
      ingressRule({ action: 'Allow', destination: { ports: [80] } }),
      `${R}.destination.ports`,
      'protocol',
      'not set',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMP', destination: { ports: [80] } }),
      `${R}.destination.ports`,
      '"ICMP"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 47, source: { ports: ['1:2'] } }),
      `${R}.source.ports`,
      '47',
    );
    expectIssue(
      ingressRule({ action: 'Allow', notProtocol: 'TCP', source: { notPorts: [22] } }),
      `${R}.source.notPorts`,
      'protocol',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'UDPLite', destination: { notPorts: ['http'] } }),
      `${R}.destination.notPorts`,
      '"UDPLite"',
    );
  });

  it('allows named-only ports without a protocol, and numeric ports with TCP, UDP, SCTP or their numbers', () => {
    decodeOk(ingressRule({ action: 'Allow', destination: { ports: ['http', 'dns-tcp'] } }));
    for (const protocol of ['TCP', 'UDP', 'SCTP', 6, 17, 132, '6']) {
      decodeOk(ingressRule({ action: 'Allow', protocol, destination: { ports: [80, '1000:2000', 'http'] } }));
    }
  });

  it('refuses protocol and action names in the wrong case, as Calico does', () => {
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'tcp' }),
      'spec.ingress[0].protocol',
      'did you mean "TCP"',
    );
    expectIssue(ingressRule({ action: 'Allow', protocol: 'icmpv6' }), 'spec.ingress[0].protocol', '"ICMPv6"');
    expectIssue(ingressRule({ action: 'allow' }), 'spec.ingress[0].action', '"allow"');
    expectIssue(ingressRule({ action: 'drop' }), 'spec.ingress[0].action', '"drop"');
  });

  it('normalises ports and protocols the way Calico writes them back', () => {
    const rule = firstIngress(
      ingressRule({
        action: 'Allow',
        protocol: 'TCP',
        notProtocol: '17',
        destination: { ports: ['80', '90:90', '1:2', 'web'] },
      }),
    );
    assert.deepEqual(rule, {
      action: 'Allow',
      protocol: 'TCP',
      notProtocol: 17,
      destination: { ports: [80, 90, '1:2', 'web'] },
    });
  });
});

describe('rule ICMP', () => {
  it('requires protocol ICMP or ICMPv6 for icmp', () => {
    expectIssue(ingressRule({ action: 'Allow', protocol: 'TCP', icmp: { type: 8 } }), `${R}.icmp`, '"TCP"');
    expectIssue(ingressRule({ action: 'Allow', icmp: { type: 8 } }), `${R}.icmp`, 'not set');
    decodeOk(ingressRule({ action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } }));
    decodeOk(ingressRule({ action: 'Allow', protocol: 58, icmp: { type: 128 } }));
  });

  it('requires a type when a code is given', () => {
    expectIssue(ingressRule({ action: 'Allow', protocol: 'ICMP', icmp: { code: 3 } }), `${R}.icmp.code`, '3');
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMP', notICMP: { code: 4 } }),
      `${R}.notICMP.code`,
      '4',
    );
  });

  it('limits type to 0-254 and code to 0-255', () => {
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMP', icmp: { type: 255 } }),
      `${R}.icmp.type`,
      '255',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMP', icmp: { type: 3, code: 256 } }),
      `${R}.icmp.code`,
      '256',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMP', icmp: { type: -1 } }),
      `${R}.icmp.type`,
      '-1',
    );
    decodeOk(ingressRule({ action: 'Allow', protocol: 'ICMP', icmp: { type: 254, code: 255 } }));
  });

  it('ties ICMP to ipVersion 4 and ICMPv6 to ipVersion 6', () => {
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMP', ipVersion: 6 }),
      `${R}.ipVersion`,
      '"ICMP"',
      '6',
    );
    expectIssue(
      ingressRule({ action: 'Allow', protocol: 'ICMPv6', ipVersion: 4 }),
      `${R}.ipVersion`,
      '"ICMPv6"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', notProtocol: 1, ipVersion: 6 }),
      `${R}.ipVersion`,
      'notProtocol',
      '1',
    );
    decodeOk(ingressRule({ action: 'Allow', protocol: 'ICMPv6', ipVersion: 6 }));
  });
});

describe('rule nets', () => {
  it('rejects unparsable and non-masked CIDRs', () => {
    expectIssue(
      ingressRule({ action: 'Allow', source: { nets: ['10.0.0.300/8'] } }),
      `${R}.source.nets[0]`,
      '"10.0.0.300/8"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', destination: { notNets: ['10.1.2.3/16'] } }),
      `${R}.destination.notNets[0]`,
      '"10.1.2.3/16"',
      '10.1.0.0/16',
    );
    decodeOk(ingressRule({ action: 'Allow', source: { nets: ['10.0.0.0/8', '192.168.1.1'] } }));
  });

  it('rejects duplicate nets', () => {
    expectIssue(
      ingressRule({ action: 'Allow', source: { nets: ['10.0.0.0/8', '10.0.0.0/8'] } }),
      `${R}.source.nets[1]`,
      '"10.0.0.0/8"',
    );
  });

  it('requires all CIDRs of a rule to be of one family', () => {
    expectIssue(
      ingressRule({
        action: 'Allow',
        source: { nets: ['10.0.0.0/8'] },
        destination: { nets: ['fd00::/64'] },
      }),
      `${R}.destination.nets[0]`,
      '"fd00::/64"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { nets: ['10.0.0.0/8', '::1'] } }),
      `${R}.source.nets[1]`,
      '"::1"',
    );
  });

  it('requires CIDRs to match the rule ipVersion', () => {
    expectIssue(
      ingressRule({ action: 'Allow', ipVersion: 6, source: { notNets: ['10.0.0.0/8'] } }),
      `${R}.source.notNets[0]`,
      '"10.0.0.0/8"',
      'ipVersion 6',
    );
  });

  it('rejects a catch-all notNets entry', () => {
    expectIssue(
      ingressRule({ action: 'Allow', source: { notNets: ['0.0.0.0/0'] } }),
      `${R}.source.notNets[0]`,
      '"0.0.0.0/0"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', destination: { notNets: ['::/0'] } }),
      `${R}.destination.notNets[0]`,
      '"::/0"',
    );
    decodeOk(ingressRule({ action: 'Allow', source: { nets: ['0.0.0.0/0'] } }));
  });
});

describe('rule selectors', () => {
  it('rejects a selector that does not parse, with the parser message', () => {
    const issue = expectIssue(
      ingressRule({ action: 'Allow', source: { selector: 'a ==' } }),
      `${R}.source.selector`,
      'invalid selector "a =="',
    );
    assert.match(issue.message, /"a ==": \S/);
    expectIssue(
      ingressRule({ action: 'Allow', destination: { notSelector: 'has(' } }),
      `${R}.destination.notSelector`,
      '"has("',
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { serviceAccounts: { selector: 'x in' } } }),
      `${R}.source.serviceAccounts.selector`,
      '"x in"',
    );
  });

  it('allows global() only alone in namespaceSelector', () => {
    decodeOk(ingressRule({ action: 'Allow', source: { namespaceSelector: 'global()' } }));
    decodeOk(
      np({ ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()', selector: 'a == "b"' } }] }),
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { selector: 'global()' } }),
      `${R}.source.selector`,
      'global()',
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { notSelector: 'global()' } }),
      `${R}.source.notSelector`,
      'global()',
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { namespaceSelector: "global() || a == 'b'" } }),
      `${R}.source.namespaceSelector`,
      'cannot be combined',
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { serviceAccounts: { selector: 'global()' } } }),
      `${R}.source.serviceAccounts.selector`,
      'global()',
    );
  });

  it('limits selectors to 1024 characters', () => {
    const long = `a == "${'x'.repeat(1100)}"`;
    expectIssue(
      ingressRule({ action: 'Allow', source: { selector: long } }),
      `${R}.source.selector`,
      'too long',
    );
  });
});

describe('rule service accounts and services', () => {
  it('rejects duplicate service account names', () => {
    expectIssue(
      ingressRule({ action: 'Allow', source: { serviceAccounts: { names: ['a', 'a'] } } }),
      `${R}.source.serviceAccounts.names[1]`,
      '"a"',
    );
    decodeOk(
      ingressRule({
        action: 'Allow',
        source: { serviceAccounts: { names: ['a', 'b'], selector: 'x == "y"' } },
      }),
    );
  });

  it('requires a valid service name', () => {
    expectIssue(
      ingressRule({ action: 'Allow', source: { services: { namespace: 'ns' } } }),
      `${R}.source.services.name`,
      'required',
    );
    expectIssue(
      ingressRule({ action: 'Allow', source: { services: { name: 'Bad_Name', namespace: 'ns' } } }),
      `${R}.source.services.name`,
      '"Bad_Name"',
    );
  });

  it('forbids other match criteria next to services', () => {
    const svc = { name: 'web', namespace: 'ns' };
    for (const [field, value] of [
      ['selector', 'a == "b"'],
      ['notSelector', 'a == "b"'],
      ['namespaceSelector', 'all()'],
      ['nets', ['10.0.0.0/8']],
      ['notNets', ['10.0.0.0/8']],
      ['serviceAccounts', { names: ['sa'] }],
    ] as const) {
      expectIssue(
        ingressRule({ action: 'Allow', source: { services: svc, [field]: value } }),
        `${R}.source.services`,
        field,
      );
    }
  });

  it('forbids ports with destination services', () => {
    const rule = {
      action: 'Allow',
      protocol: 'TCP',
      destination: { services: { name: 'web', namespace: 'ns' }, ports: [80] },
    };
    expectIssue(gnp({ egress: [rule] }), 'spec.egress[0].destination.ports', 'services');
    const rule2 = {
      action: 'Allow',
      protocol: 'TCP',
      destination: { services: { name: 'web', namespace: 'ns' }, notPorts: [80] },
    };
    expectIssue(gnp({ egress: [rule2] }), 'spec.egress[0].destination.notPorts', 'services');
  });

  it('allows services only in the destination of egress rules and the source of ingress rules', () => {
    const svc = { name: 'web', namespace: 'ns' };
    expectIssue(
      gnp({ egress: [{ action: 'Allow', source: { services: svc } }] }),
      'spec.egress[0].source.services',
      'egress',
    );
    expectIssue(
      gnp({ ingress: [{ action: 'Allow', destination: { services: svc } }] }),
      'spec.ingress[0].destination.services',
      'ingress',
    );
    decodeOk(
      gnp({
        egress: [{ action: 'Allow', destination: { services: svc } }],
        ingress: [{ action: 'Allow', source: { services: svc, ports: ['http'] } }],
      }),
    );
  });

  it('requires a namespace on services matches in global policies only', () => {
    expectIssue(
      gnp({ egress: [{ action: 'Allow', destination: { services: { name: 'web' } } }] }),
      'spec.egress[0].destination.services.namespace',
      '"web"',
    );
    expectIssue(
      gnp({ ingress: [{ action: 'Allow', source: { services: { name: 'web' } } }] }),
      'spec.ingress[0].source.services.namespace',
      '"web"',
    );
    decodeOk(np({ egress: [{ action: 'Allow', destination: { services: { name: 'web' } } }] }));
  });
});

describe('rule HTTP match', () => {
  const http = { methods: ['GET'], paths: [{ exact: '/a' }, { prefix: '/b/' }] };

  it('accepts a valid HTTP match on an ingress Allow rule', () => {
    decodeOk(ingressRule({ action: 'Allow', protocol: 'TCP', http }));
    decodeOk(ingressRule({ action: 'Allow', http }));
  });

  it('allows HTTP only on Allow rules', () => {
    expectIssue(ingressRule({ action: 'Deny', http }), `${R}.http`, '"Deny"');
  });

  it('requires protocol TCP or unset with HTTP', () => {
    expectIssue(ingressRule({ action: 'Allow', protocol: 'UDP', http }), `${R}.protocol`, '"UDP"');
  });

  it('forbids HTTP in egress rules', () => {
    expectIssue(gnp({ egress: [{ action: 'Allow', http }] }), 'spec.egress[0].http', 'egress');
  });

  it('rejects duplicate methods and more than 20 methods or paths', () => {
    expectIssue(
      ingressRule({ action: 'Allow', http: { methods: ['GET', 'GET'] } }),
      `${R}.http.methods[1]`,
      '"GET"',
    );
    const many = Array.from({ length: 21 }, (_, i) => `M${i}`);
    expectIssue(ingressRule({ action: 'Allow', http: { methods: many } }), `${R}.http.methods`, '21');
    const paths = Array.from({ length: 21 }, (_, i) => ({ exact: `/${i}` }));
    expectIssue(ingressRule({ action: 'Allow', http: { paths } }), `${R}.http.paths`, '21');
  });

  it('requires exactly one of exact and prefix, a leading slash and no ? # or space', () => {
    expectIssue(
      ingressRule({ action: 'Allow', http: { paths: [{ exact: '/a', prefix: '/b' }] } }),
      `${R}.http.paths[0]`,
      '"/a"',
      '"/b"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', http: { paths: [{}] } }),
      `${R}.http.paths[0]`,
      'exact or prefix',
    );
    expectIssue(
      ingressRule({ action: 'Allow', http: { paths: [{ exact: 'a' }] } }),
      `${R}.http.paths[0].exact`,
      '"a"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', http: { paths: [{ prefix: '/a?b' }] } }),
      `${R}.http.paths[0].prefix`,
      '"/a?b"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', http: { paths: [{ exact: '/a b' }] } }),
      `${R}.http.paths[0].exact`,
      '"/a b"',
    );
    expectIssue(
      ingressRule({ action: 'Allow', http: { paths: [{ exact: '/#' }] } }),
      `${R}.http.paths[0].exact`,
      '"/#"',
    );
  });
});

describe('rule metadata', () => {
  it('validates rule annotations like object annotations', () => {
    decodeOk(ingressRule({ action: 'Allow', metadata: { annotations: { 'example.com/why': 'because' } } }));
    expectIssue(
      ingressRule({ action: 'Allow', metadata: { annotations: { 'a b': 'x' } } }),
      `${R}.metadata.annotations["a b"]`,
      '"a b"',
    );
  });
});

describe('one rule with several problems', () => {
  it('reports all of them, including cross-field ones when the action is bad', () => {
    const issues = issuesOf(
      ingressRule({
        action: 'allow',
        protocol: 'ICMP',
        ipVersion: 6,
        icmp: { code: 1 },
        source: { nets: ['10.0.0.0/8'], ports: [80] },
      }),
    );
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      `${R}.action`,
      `${R}.icmp.code`,
      `${R}.ipVersion`,
      `${R}.source.nets[0]`,
      `${R}.source.ports`,
    ]);
  });
});
