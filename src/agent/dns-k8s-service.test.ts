import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeServiceResolver, serviceDnsServers } from './dns-k8s-service.js';
import { waitFor } from '../lib/async.js';

describe('k8s-service trusted DNS servers', () => {
  it('are the cluster IPs with UDP/TCP ports and the ready endpoints with theirs', () => {
    const servers = serviceDnsServers(
      {
        spec: {
          clusterIPs: ['10.96.0.10', 'fd00:96::a'],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
            { port: 9153, protocol: 'TCP' },
            { port: 5353, protocol: 'SCTP' },
          ],
        },
      },
      {
        items: [
          {
            endpoints: [
              { addresses: ['10.65.0.5'], conditions: { ready: true } },
              { addresses: ['10.65.0.6'], conditions: { ready: false } },
            ],
            ports: [{ port: 53, protocol: 'UDP' }],
          },
        ],
      },
    );
    assert.deepEqual(
      servers.map((s) => `${s.ip}:${s.port}`),
      ['10.65.0.5:53', '10.96.0.10:53', '10.96.0.10:9153', 'fd00:96::a:53', 'fd00:96::a:9153'],
    );
    assert.deepEqual(
      serviceDnsServers({ spec: { clusterIP: 'None', ports: [{ port: 53 }] } }, undefined),
      [],
    );
  });

  it('resolve starts reading, then reports the change; a missing Service resolves to nothing', async () => {
    let changes = 0;
    const logs: string[] = [];
    const log = {
      debug: () => undefined,
      info: (m: string) => logs.push(m),
      warn: (m: string) => logs.push(m),
      error: (m: string) => logs.push(m),
    };
    const r = new KubeServiceResolver({
      kube: {
        request: (_m, path) =>
          Promise.resolve(
            path.includes('/services/kube-dns')
              ? {
                  status: 200,
                  body: { spec: { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] } },
                }
              : path.includes('/services/')
                ? { status: 404, body: {} }
                : { status: 200, body: { items: [] } },
          ),
      },
      log,
      onChange: () => {
        changes++;
      },
    });
    try {
      assert.equal(r.resolve('kube-system', 'kube-dns'), undefined);
      await waitFor(() => changes === 1, { timeoutMs: 2_000, what: 'the first read' });
      assert.deepEqual(r.resolve('kube-system', 'kube-dns'), [{ ip: '10.96.0.10', port: 53 }]);
      r.resolve('kube-system', 'missing');
      await waitFor(() => logs.some((l) => l.includes('not readable')), {
        timeoutMs: 2_000,
        what: 'the warning',
      });
      assert.deepEqual(r.resolve('kube-system', 'missing'), []);
    } finally {
      r.stop();
    }
  });
});
