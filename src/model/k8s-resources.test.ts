import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../api/k8s/types.js';
import { pod } from '../policy/testing.js';
import { podToWorkloadEndpoint } from './k8s-resources.js';

describe('Pod -> WorkloadEndpoint ports (libcalico-go appendEndpointPorts)', () => {
  it('keeps named and host ports of containers and init containers, defaults TCP, drops other protocols', () => {
    const base = pod('a', 'p', '10.0.0.1', {}, { node: 'n1' });
    const p: Pod = {
      ...base,
      spec: {
        ...base.spec,
        containers: [
          {
            name: 'c',
            ports: [
              { name: 'http', containerPort: 80 },
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { containerPort: 8080 }, // neither named nor a host port: not an endpoint port
              { containerPort: 9090, hostPort: 0 }, // host port 0 is no host port
              { containerPort: 443, hostPort: 8443, protocol: 'TCP' },
              { name: 'odd', containerPort: 7, protocol: 'ICMP' as 'TCP' }, // not a pod port protocol
            ],
          },
        ],
        initContainers: [{ name: 'i', ports: [{ name: 'sig', containerPort: 3868, protocol: 'SCTP' }] }],
      },
    };
    const w = podToWorkloadEndpoint(p);
    assert.ok(w !== undefined);
    assert.deepEqual(w.spec.ports, [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: 'dns', protocol: 'UDP', port: 53 },
      { name: '', protocol: 'TCP', port: 443, hostPort: 8443 },
      { name: 'sig', protocol: 'SCTP', port: 3868 },
    ]);
  });
});
