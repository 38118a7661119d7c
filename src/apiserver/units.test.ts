/**
 * The pure parts of calico-apiserver: discovery documents, patch types, list selectors, Status shapes,
 * request-header authentication and the SubjectAccessReview authoriser (with a fake kube-apiserver: the
 * real one is in apiserver.test.ts).
 */
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { describe, test } from 'node:test';
import { allKinds } from '../api/kinds.js';
import { DelegatingAuthorizer, authenticate, type KubeRequester, type RequestHeaderConfig } from './auth.js';
import { apiResourceList } from './discovery.js';
import { patchDocument, patchTypeOf } from './patch.js';
import { servedResources } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { invalid } from './status.js';
import { wantsTable } from './table.js';

describe('discovery', () => {
  test('21 resources as Calico v3.32.1 registers them, plus kubecontrollersconfigurations/status', () => {
    const list = apiResourceList() as {
      resources: { name: string; shortNames?: string[]; namespaced: boolean }[];
    };
    assert.equal(servedResources().length, 21);
    assert.equal(list.resources.length, 22);
    const byName = new Map(list.resources.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('globalnetworkpolicies')?.shortNames, [
      'gnp',
      'cgnp',
      'calicoglobalnetworkpolicies',
    ]);
    assert.deepEqual(byName.get('kubecontrollersconfigurations')?.shortNames, ['kcconfig']);
    assert.equal(byName.get('tiers')?.shortNames, undefined);
    assert.ok(byName.has('kubecontrollersconfigurations/status'));
    for (const r of servedResources()) {
      const info = allKinds().find((k) => k.kind === r.kind);
      assert.equal(r.namespaced, info?.namespaced, r.kind);
    }
    for (const absent of ['workloadendpoints', 'nodes', 'ipamblocks', 'ipamhandles'])
      assert.equal(byName.has(absent), false);
  });

  test('Table is chosen only for meta.k8s.io/v1 tables', () => {
    assert.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'), true);
    assert.equal(wantsTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io'), false);
    assert.equal(wantsTable('application/json'), false);
    assert.equal(wantsTable(undefined), false);
  });
});

describe('patch', () => {
  const target = {
    spec: { selector: 'all()', types: ['Ingress', 'Egress'], order: 10 },
    metadata: { name: 'a' },
  };

  test('content types', () => {
    assert.equal(patchTypeOf('application/merge-patch+json'), 'merge');
    assert.equal(patchTypeOf('application/strategic-merge-patch+json; charset=utf-8'), 'strategic');
    assert.equal(patchTypeOf('application/json-patch+json'), 'json');
    assert.equal(patchTypeOf('application/apply-patch+yaml'), undefined);
  });

  test('merge: null deletes, lists are replaced', () => {
    const r = patchDocument('merge', target, { spec: { order: null, types: ['Egress'] } });
    assert.deepEqual(r, {
      ok: true,
      value: { spec: { selector: 'all()', types: ['Egress'] }, metadata: { name: 'a' } },
    });
  });

  test('strategic: a merge patch with ordering directives dropped; $patch refused naming its path', () => {
    const r = patchDocument('strategic', target, {
      spec: { types: ['Egress'], '$setElementOrder/types': ['Egress'] },
    });
    assert.deepEqual(r, {
      ok: true,
      value: { spec: { selector: 'all()', types: ['Egress'], order: 10 }, metadata: { name: 'a' } },
    });
    const bad = patchDocument('strategic', target, { spec: { ingress: [{ $patch: 'delete' }] } });
    if (bad.ok) assert.fail('a $patch directive was accepted');
    assert.match(bad.error, /^spec\.ingress\[0\]\.\$patch: /);
  });

  test('json patch', () => {
    const r = patchDocument('json', target, [
      { op: 'replace', path: '/spec/order', value: 20 },
      { op: 'remove', path: '/spec/types/0' },
    ]);
    assert.deepEqual(r, {
      ok: true,
      value: { spec: { selector: 'all()', types: ['Egress'], order: 20 }, metadata: { name: 'a' } },
    });
    assert.equal(patchDocument('json', target, [{ op: 'remove', path: '/spec/nope' }]).ok, false);
  });
});

describe('selectors', () => {
  test('label selectors', () => {
    const l = { app: 'web', tier: 'fe' };
    assert.equal(parseLabelSelector('app=web,tier')(l), true);
    assert.equal(parseLabelSelector('app!=web')(l), false);
    assert.equal(parseLabelSelector('!tier')(l), false);
    assert.equal(parseLabelSelector('app in (db, web)')(l), true);
    assert.equal(parseLabelSelector('app notin (web)')(l), false);
    assert.equal(parseLabelSelector(null)(l), true);
    assert.throws(() => parseLabelSelector('app=(x'), /unable to parse/);
  });

  test('field selectors over name, namespace and tier', () => {
    const f = { 'metadata.name': 'a', 'metadata.namespace': '', 'spec.tier': 'default' };
    assert.equal(parseFieldSelector('metadata.name=a')(f), true);
    assert.equal(parseFieldSelector('spec.tier!=default')(f), false);
    assert.throws(() => parseFieldSelector('spec.selector=x'), /field label not supported: spec.selector/);
  });
});

describe('Status', () => {
  test("422 Invalid: one FieldValueInvalid cause per field, with calicoctl validate's message", () => {
    const s = invalid({ plural: 'globalnetworkpolicies', kind: 'GlobalNetworkPolicy', name: 'x' }, [
      { path: 'spec.selector', message: 'invalid selector "all("' },
      { path: 'spec.order', message: 'expected a number' },
    ]).status;
    assert.equal(s.code, 422);
    assert.equal(s.reason, 'Invalid');
    assert.equal(
      s.message,
      'GlobalNetworkPolicy.projectcalico.org "x" is invalid: [spec.selector: invalid selector "all(", spec.order: expected a number]',
    );
    assert.deepEqual(s.details?.causes, [
      { reason: 'FieldValueInvalid', message: 'invalid selector "all("', field: 'spec.selector' },
      { reason: 'FieldValueInvalid', message: 'expected a number', field: 'spec.order' },
    ]);
  });
});

const CONFIG: RequestHeaderConfig = {
  clientCa: '',
  allowedNames: ['front-proxy-client'],
  usernameHeaders: ['X-Remote-User'],
  groupHeaders: ['X-Remote-Group'],
  extraHeaderPrefixes: ['X-Remote-Extra-'],
};

function socket(authorized: boolean, cn: string | undefined): TLSSocket {
  return {
    authorized,
    authorizationError: authorized ? null : new Error('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    getPeerCertificate: () => (cn === undefined ? {} : { subject: { CN: cn } }),
  } as unknown as TLSSocket;
}

describe('request-header authentication', () => {
  test('headers are believed only from a verified front-proxy certificate with an allowed name', () => {
    const headers = {
      'x-remote-user': 'alice',
      'x-remote-group': ['devs', 'ops'],
      'x-remote-extra-scopes': 'a',
    };
    assert.deepEqual(authenticate(socket(true, 'front-proxy-client'), headers, CONFIG), {
      ok: true,
      user: { name: 'alice', groups: ['devs', 'ops', 'system:authenticated'], extra: { scopes: ['a'] } },
    });
    assert.equal(authenticate(socket(false, 'front-proxy-client'), headers, CONFIG).ok, false);
    assert.equal(authenticate(socket(true, 'someone-else'), headers, CONFIG).ok, false);
    assert.equal(authenticate(socket(true, undefined), headers, CONFIG).ok, false);
    assert.equal(authenticate(socket(true, 'front-proxy-client'), {}, CONFIG).ok, false);
  });
});

describe('SubjectAccessReview authoriser', () => {
  function fake(allowed: boolean, status = 201): { kube: KubeRequester; calls: unknown[] } {
    const calls: unknown[] = [];
    return {
      calls,
      kube: {
        request: (_m, _p, body) => {
          calls.push(body);
          return Promise.resolve({ status, body: { status: { allowed, reason: allowed ? '' : 'no RBAC' } } });
        },
      },
    };
  }
  const bob = { name: 'bob', groups: ['system:authenticated'], extra: {} };
  const list = { type: 'resource', verb: 'list', resource: 'globalnetworkpolicies' } as const;

  test('asks kube-apiserver with the resource attributes; answers are cached for 10 s', async () => {
    let now = 0;
    const f = fake(true);
    const a = new DelegatingAuthorizer(f.kube, () => now);
    assert.deepEqual(await a.authorize(bob, list), { allowed: true });
    assert.deepEqual(await a.authorize(bob, list), { allowed: true });
    assert.equal(f.calls.length, 1);
    assert.deepEqual((f.calls[0] as { spec: unknown }).spec, {
      user: 'bob',
      groups: ['system:authenticated'],
      extra: {},
      resourceAttributes: {
        group: 'projectcalico.org',
        version: 'v3',
        verb: 'list',
        resource: 'globalnetworkpolicies',
      },
    });
    now = 10_001;
    await a.authorize(bob, list);
    assert.equal(f.calls.length, 2);
  });

  test('system:masters and health paths need no review; a failed review denies (fail closed)', async () => {
    const f = fake(true, 500);
    const a = new DelegatingAuthorizer(f.kube);
    assert.deepEqual(await a.authorize({ name: 'x', groups: ['system:masters'], extra: {} }, list), {
      allowed: true,
    });
    assert.deepEqual(await a.authorize(bob, { type: 'nonResource', verb: 'get', path: '/healthz' }), {
      allowed: true,
    });
    assert.equal(f.calls.length, 0);
    assert.equal((await a.authorize(bob, list)).allowed, false);
    const denied = new DelegatingAuthorizer(fake(false).kube);
    assert.deepEqual(await denied.authorize(bob, list), { allowed: false, reason: 'no RBAC' });
  });
});
