import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, expectIssue } from '../testing.js';
import type { Namespace, Pod, ServiceAccount } from './types.js';

const core = (kind: string, rest: object): unknown => ({ apiVersion: 'v1', kind, ...rest });

describe('Kubernetes core kinds', () => {
  it('keep labels and ignore unknown fields of a Namespace', () => {
    const n = decodeOk(
      core('Namespace', {
        metadata: { name: 'prod', labels: { env: 'prod' }, managedFields: [], other: 1 },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      }),
    ) as Namespace;
    assert.deepEqual(n, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'prod', labels: { env: 'prod' } },
    });
  });

  it('require a namespace name to be a DNS label and reject a namespace on it', () => {
    expectIssue(core('Namespace', { metadata: { name: 'a.b' } }), 'metadata.name', '"a.b"');
    expectIssue(core('Namespace', { metadata: { name: 'a', namespace: 'b' } }), 'metadata.namespace', '"b"');
  });

  it('keep a ServiceAccount name, namespace and labels', () => {
    const sa = decodeOk(
      core('ServiceAccount', {
        metadata: { name: 'api', namespace: 'prod', labels: { team: 'a' } },
        secrets: [],
      }),
    ) as ServiceAccount;
    assert.deepEqual(sa.metadata, { name: 'api', namespace: 'prod', labels: { team: 'a' } });
  });

  it('read the policy-relevant fields of a Pod and drop the rest', () => {
    const p = decodeOk(
      core('Pod', {
        metadata: { name: 'web-1', namespace: 'prod', labels: { app: 'web' } },
        spec: {
          serviceAccountName: 'api',
          nodeName: 'node-1',
          hostNetwork: false,
          restartPolicy: 'Always',
          containers: [
            {
              name: 'web',
              image: 'nginx',
              ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
              env: [],
            },
          ],
        },
        status: {
          phase: 'Running',
          podIP: '10.65.0.2',
          podIPs: [{ ip: '10.65.0.2' }, { ip: 'fd00::2' }],
          hostIP: '10.0.0.1',
        },
      }),
    ) as Pod;
    assert.deepEqual(p.spec, {
      nodeName: 'node-1',
      serviceAccountName: 'api',
      hostNetwork: false,
      containers: [
        { name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] },
      ],
    });
    assert.deepEqual(p.status, {
      podIP: '10.65.0.2',
      podIPs: [{ ip: '10.65.0.2' }, { ip: 'fd00::2' }],
      phase: 'Running',
    });
  });

  it('still type-check the fields they read', () => {
    const pod = (spec: object, status: object = {}): unknown =>
      core('Pod', { metadata: { name: 'p' }, spec, status });
    expectIssue(pod({ hostNetwork: 'yes' }), 'spec.hostNetwork', '"yes"');
    expectIssue(
      pod({ containers: [{ name: 'c', ports: [{ containerPort: 70000 }] }] }),
      'spec.containers[0].ports[0].containerPort',
      '70000',
    );
    expectIssue(
      pod({ containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'ICMP' }] }] }),
      'spec.containers[0].ports[0].protocol',
      '"ICMP"',
    );
    expectIssue(
      pod({ containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'Web' }] }] }),
      'spec.containers[0].ports[0].name',
      '"Web"',
    );
    expectIssue(pod({}, { podIP: '10.0.0.300' }), 'status.podIP', '"10.0.0.300"');
    expectIssue(pod({ serviceAccountName: 'A' }), 'spec.serviceAccountName', '"A"');
  });
});
