import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeResource } from '../decode.js';
import { decodeOk, doc, expectIssue, gnp, issuesOf, np } from '../testing.js';
import type {
  GlobalNetworkPolicy,
  NetworkPolicy,
  StagedGlobalNetworkPolicy,
  StagedNetworkPolicy,
} from './policy.js';

const allow = { action: 'Allow' };

describe('policy names', () => {
  it('allows a DNS label with at most one dot for global policies', () => {
    decodeOk(gnp({}, { name: 'allow-dns' }));
    decodeOk(gnp({}, { name: 'tier1.allow-dns' }));
    expectIssue(gnp({}, { name: 'a.b.c' }), 'metadata.name', '"a.b.c"');
    expectIssue(gnp({}, { name: 'Allow' }), 'metadata.name', '"Allow"');
    expectIssue(gnp({}, { name: `a${'b'.repeat(253)}` }), 'metadata.name', 'too long');
  });

  it('also allows knp.default.<subdomain> names for namespaced policies', () => {
    decodeOk(np({}, { name: 'knp.default.a.b.c', namespace: 'ns' }));
    expectIssue(np({}, { name: 'a.b.c', namespace: 'ns' }), 'metadata.name', '"a.b.c"');
    expectIssue(np({}, { name: 'bad_name' }), 'metadata.name', '"bad_name"');
  });

  it('follows the NetworkPolicy rule for staged policies (v3.32 no longer reserves knp.default.)', () => {
    decodeOk(doc('StagedNetworkPolicy', {}, { name: 'knp.default.x', namespace: 'ns' }));
    expectIssue(doc('StagedNetworkPolicy', {}, { name: 'a.b.c' }), 'metadata.name', '"a.b.c"');
  });

  it('requires a name', () => {
    expectIssue(gnp({}, {}), 'metadata.name', 'required');
    expectIssue(
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', spec: {} },
      'metadata',
      'required',
    );
  });
});

describe('policy scope', () => {
  it('rejects a namespace on a global policy', () => {
    expectIssue(gnp({}, { name: 'p', namespace: 'ns1' }), 'metadata.namespace', '"ns1"');
  });

  it('does not require a namespace on a namespaced policy, but checks one that is given', () => {
    decodeOk(np({}, { name: 'p' }));
    expectIssue(np({}, { name: 'p', namespace: 'Bad.NS' }), 'metadata.namespace', '"Bad.NS"');
  });
});

describe('policy spec fields', () => {
  it('checks the tier name as a resource name (the Tier itself must exist when written)', () => {
    assert.equal((decodeOk(gnp({ tier: 'a.b' })) as GlobalNetworkPolicy).spec.tier, 'a.b');
    expectIssue(gnp({ tier: 'a..b' }), 'spec.tier', '"a..b"');
    expectIssue(gnp({ tier: 'UPPER' }), 'spec.tier', '"UPPER"');
    assert.equal((decodeOk(gnp({ tier: '' })) as GlobalNetworkPolicy).spec.tier, 'default');
  });

  it('requires order to be a finite number', () => {
    expectIssue(gnp({ order: '10' }), 'spec.order', '"10"');
    expectIssue(gnp({ order: Number.POSITIVE_INFINITY }), 'spec.order', 'Infinity');
    assert.equal((decodeOk(gnp({ order: -2.5 })) as GlobalNetworkPolicy).spec.order, -2.5);
  });

  it('checks selectors and forbids global() at policy level', () => {
    expectIssue(gnp({ selector: 'a ==' }), 'spec.selector', 'invalid selector "a =="');
    expectIssue(gnp({ selector: 'global()' }), 'spec.selector', 'global()');
    expectIssue(gnp({ namespaceSelector: 'global()' }), 'spec.namespaceSelector', 'global()');
    expectIssue(np({ serviceAccountSelector: 'global()' }), 'spec.serviceAccountSelector', 'global()');
    expectIssue(np({ serviceAccountSelector: '!' }), 'spec.serviceAccountSelector', '"!"');
  });

  it('checks types: values, at most two, no duplicates', () => {
    expectIssue(gnp({ types: ['ingress'] }), 'spec.types[0]', '"ingress"');
    expectIssue(gnp({ types: ['Ingress', 'Ingress'] }), 'spec.types[1]', '"Ingress"');
    expectIssue(gnp({ types: ['Ingress', 'Egress', 'Ingress'] }), 'spec.types', '3');
  });

  it('checks performanceHints', () => {
    decodeOk(gnp({ performanceHints: ['AssumeNeededOnEveryNode'] }));
    expectIssue(gnp({ performanceHints: ['Fast'] }), 'spec.performanceHints[0]', '"Fast"');
    expectIssue(
      np({ performanceHints: ['AssumeNeededOnEveryNode', 'AssumeNeededOnEveryNode'] }),
      'spec.performanceHints[1]',
      'AssumeNeededOnEveryNode',
    );
  });

  it('limits each rule list to 1024 rules', () => {
    const rules = Array.from({ length: 1025 }, () => allow);
    expectIssue(gnp({ ingress: rules }), 'spec.ingress', '1025');
  });

  it('rejects global-only fields on a namespaced policy', () => {
    for (const field of ['doNotTrack', 'preDNAT', 'applyOnForward', 'namespaceSelector']) {
      expectIssue(np({ [field]: true }), `spec.${field}`, `"${field}"`);
    }
  });

  it('rejects unknown top-level and metadata fields', () => {
    expectIssue({ ...(gnp({}) as object), status: {} }, 'status', '"status"');
    expectIssue(gnp({}, { name: 'p', colour: 'red' }), 'metadata.colour', '"colour"');
    expectIssue(gnp({ selektor: 'all()' }), 'spec.selektor', '"selektor"');
  });
});

describe('GlobalNetworkPolicy doNotTrack / preDNAT / applyOnForward', () => {
  it('forbids doNotTrack together with preDNAT', () => {
    expectIssue(gnp({ doNotTrack: true, preDNAT: true, applyOnForward: true }), 'spec.preDNAT', 'doNotTrack');
  });

  it('forbids egress rules and the Egress type in preDNAT policies', () => {
    expectIssue(gnp({ preDNAT: true, applyOnForward: true, egress: [allow] }), 'spec.egress', 'preDNAT');
    expectIssue(
      gnp({ preDNAT: true, applyOnForward: true, types: ['Ingress', 'Egress'] }),
      'spec.types',
      'Egress',
    );
    decodeOk(gnp({ preDNAT: true, applyOnForward: true, ingress: [allow] }));
  });

  it('requires applyOnForward with doNotTrack or preDNAT', () => {
    expectIssue(gnp({ doNotTrack: true, ingress: [allow] }), 'spec.applyOnForward', 'doNotTrack');
    expectIssue(gnp({ preDNAT: true, applyOnForward: false }), 'spec.applyOnForward', 'false');
    decodeOk(gnp({ doNotTrack: true, applyOnForward: true, egress: [allow] }));
  });
});

describe('staged policies', () => {
  it('defaults stagedAction to Set and validates it', () => {
    const r = decodeOk(doc('StagedGlobalNetworkPolicy', { ingress: [allow] })) as StagedGlobalNetworkPolicy;
    assert.equal(r.spec.stagedAction, 'Set');
    expectIssue(doc('StagedNetworkPolicy', { stagedAction: 'Remove' }), 'spec.stagedAction', '"Remove"');
  });

  it('with Delete allows nothing but the tier, and infers no types', () => {
    const r = decodeOk(
      doc('StagedNetworkPolicy', { stagedAction: 'Delete', tier: 'security' }),
    ) as StagedNetworkPolicy;
    assert.deepEqual(r.spec, { stagedAction: 'Delete', tier: 'security' });
    expectIssue(
      doc('StagedNetworkPolicy', { stagedAction: 'Delete', selector: 'a == "b"' }),
      'spec.selector',
      'Delete',
    );
    expectIssue(
      doc('StagedGlobalNetworkPolicy', { stagedAction: 'Delete', ingress: [allow] }),
      'spec.ingress',
      'Delete',
    );
    expectIssue(doc('StagedGlobalNetworkPolicy', { stagedAction: 'Delete', order: 5 }), 'spec.order', '5');
    expectIssue(
      doc('StagedGlobalNetworkPolicy', { stagedAction: 'Delete', doNotTrack: true }),
      'spec.doNotTrack',
      'Delete',
    );
  });

  it('applies the enforced policy checks to other staged actions', () => {
    expectIssue(
      doc('StagedGlobalNetworkPolicy', { stagedAction: 'Learn', preDNAT: true }),
      'spec.applyOnForward',
      'preDNAT',
    );
    expectIssue(
      doc('StagedNetworkPolicy', { egress: [{ action: 'Allow', source: { services: { name: 'x' } } }] }),
      'spec.egress[0].source.services',
      'egress',
    );
  });
});

describe('policy defaults', () => {
  const typesOf = (spec: object): unknown => (decodeOk(gnp(spec)) as GlobalNetworkPolicy).spec.types;

  it('infers types from the rules when none are given', () => {
    assert.deepEqual(typesOf({}), ['Ingress']);
    assert.deepEqual(typesOf({ ingress: [allow] }), ['Ingress']);
    assert.deepEqual(typesOf({ egress: [allow] }), ['Egress']);
    assert.deepEqual(typesOf({ ingress: [allow], egress: [allow] }), ['Ingress', 'Egress']);
    assert.deepEqual(typesOf({ egress: [allow], types: [] }), ['Egress']);
    assert.deepEqual(typesOf({ egress: [allow], types: ['Ingress'] }), ['Ingress']);
  });

  it('infers types for staged policies too', () => {
    const r = decodeOk(doc('StagedNetworkPolicy', { egress: [allow] })) as StagedNetworkPolicy;
    assert.deepEqual(r.spec.types, ['Egress']);
  });

  it('defaults the tier and sets the tier label on every Calico policy kind', () => {
    for (const kind of [
      'GlobalNetworkPolicy',
      'NetworkPolicy',
      'StagedGlobalNetworkPolicy',
      'StagedNetworkPolicy',
    ]) {
      const r = decodeOk(doc(kind, {}, { name: 'p', labels: { app: 'x' } })) as GlobalNetworkPolicy;
      assert.equal(r.spec.tier, 'default', kind);
      assert.deepEqual(r.metadata.labels, { app: 'x', 'projectcalico.org/tier': 'default' }, kind);
    }
    const r = decodeOk(
      np({ tier: 'security' }, { name: 'p', labels: { 'projectcalico.org/tier': 'other' } }),
    ) as NetworkPolicy;
    assert.equal(r.metadata.labels?.['projectcalico.org/tier'], 'security');
  });

  it('puts defaulted fields in Calico field order', () => {
    const r = decodeOk(gnp({ selector: 'all()', ingress: [allow] })) as GlobalNetworkPolicy;
    assert.deepEqual(Object.keys(r.spec), ['tier', 'ingress', 'selector', 'types']);
  });
});

describe('decoding is pure and stable', () => {
  it('does not mutate its input', () => {
    const input = gnp({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['80'] } }] });
    const before = structuredClone(input);
    decodeOk(input);
    assert.deepEqual(input, before);
  });

  it('returns objects that decode to themselves', () => {
    const input = gnp({
      order: 10,
      selector: 'role == "db"',
      ingress: [
        {
          action: 'Allow',
          protocol: '6',
          source: { selector: 'role == "app"' },
          destination: { ports: ['5432'] },
        },
      ],
      egress: [{ action: 'Deny', destination: { nets: ['10.0.0.0/8'] } }],
    });
    const once = decodeOk(input);
    const twice = decodeResource(JSON.parse(JSON.stringify(once)));
    assert.deepEqual(twice, { ok: true, value: once });
  });

  it('reports every problem of a document at once', () => {
    const issues = issuesOf(
      gnp(
        {
          tier: 'A',
          order: 'first',
          selector: 'a ==',
          types: ['Sideways'],
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80, '70000'] } }],
          doNotTrack: true,
        },
        { name: 'Bad', labels: { 'a b': 'x' } },
      ),
    );
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'metadata.labels["a b"]',
      'metadata.name',
      'spec.applyOnForward',
      'spec.ingress[0].destination.ports[1]',
      'spec.order',
      'spec.selector',
      'spec.tier',
      'spec.types[0]',
    ]);
  });
});
