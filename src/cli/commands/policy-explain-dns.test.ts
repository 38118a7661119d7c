import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calicoctl } from '../testing.js';

/** prod/web may reach *.example.com on 443 and whatever the saas set's domains resolve to; nothing else. */
const INPUT = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web}}
spec: {nodeName: node1}
status: {podIP: 10.0.0.10, podIPs: [{ip: 10.0.0.10}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: saas, labels: {role: saas}}
spec: {allowedEgressDomains: ['*.saas.test']}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-example}
spec:
  selector: app == 'web'
  types: [Egress]
  egress:
    - {action: Allow, protocol: TCP, destination: {domains: ['*.example.com'], ports: [443]}}
    - {action: Allow, destination: {selector: role == 'saas'}}
`;

const explain = (to: string, extra: string[] = []) =>
  calicoctl(['policy', 'explain', '-f', '-', '--from', 'prod/web', '--to', to, '--port', '443', ...extra], {
    stdin: INPUT,
  });

describe('calicoctl policy explain --resolve (DNS policy offline)', () => {
  it('allows an address a matching name resolves to, naming the domain pattern and the name', async () => {
    const r = await explain('198.51.100.1', ['--resolve', 'API.example.com=198.51.100.1,2001:db8::1']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes('Verdict: ALLOW'), r.stdout);
    assert.ok(r.stdout.includes('rule 0 (Allow), domain *.example.com matched api.example.com'), r.stdout);
    const v6 = await explain('2001:db8::1', ['--resolve', 'api.example.com=198.51.100.1,2001:db8::1']);
    assert.ok(v6.stdout.includes('Verdict: ALLOW'), v6.stdout);
  });

  it('names the network set whose allowedEgressDomains matched; repeats --resolve', async () => {
    const r = await explain('198.51.100.9', [
      '--resolve',
      'evil.test=203.0.113.66',
      '--resolve',
      'eu.saas.test=198.51.100.9',
      '-o',
      'json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout) as {
      verdict: string;
      egress: { decidedBy: { hit: { domain: unknown } } };
    };
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(d.egress.decidedBy.hit.domain, {
      pattern: '*.saas.test',
      name: 'eu.saas.test',
      networkSet: 'GlobalNetworkSet saas',
    });
  });

  it('denies names that do not match, and says when no --resolve was given', async () => {
    const r = await explain('203.0.113.66', ['--resolve', 'evil.test=203.0.113.66', '--expect', 'deny']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const none = await explain('198.51.100.1');
    assert.ok(none.stdout.includes('Verdict: DENY'), none.stdout);
    assert.ok(none.stdout.includes('no --resolve NAME=IP was given'), none.stdout);
  });

  it('refuses malformed --resolve values with exit status 2', async () => {
    for (const bad of [
      'api.example.com',
      'api.example.com=',
      'api.example.com=1.2.3',
      '*.example.com=1.2.3.4',
      'a..b=1.2.3.4',
    ]) {
      const r = await explain('198.51.100.1', ['--resolve', bad]);
      assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--resolve/);
    }
  });
});
