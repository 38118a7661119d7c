/** Named ports of host and workload endpoints: protocol must support ports (TCP, UDP, SCTP). */
import { checked, type Decoder, int, type Issues, opt, refine, req, show, struct } from '../decoder.js';
import { checkPortName } from '../names.js';
import { netField } from '../net-fields.js';
import { supportsPorts } from '../numorstring.js';
import { protocolField } from './rule-codec.js';
import type { EndpointPort, WorkloadEndpointPort } from './misc.js';
import type { ProtocolValue } from './rule.js';

const portNameField = checked(checkPortName);

function checkProtocol(protocol: ProtocolValue, path: string, issues: Issues): void {
  if (!supportsPorts(protocol)) {
    issues.add(
      `${path}.protocol`,
      `protocol ${show(protocol)} does not support ports (must be TCP, UDP or SCTP)`,
    );
  }
}

export const endpointPortField: Decoder<EndpointPort> = refine(
  struct<EndpointPort>({
    name: req(portNameField),
    protocol: req(protocolField),
    port: req(int(1, 65535)),
  }),
  (p, path, issues) => {
    checkProtocol(p.protocol, path, issues);
  },
);

export const workloadEndpointPortField: Decoder<WorkloadEndpointPort> = refine(
  struct<WorkloadEndpointPort>({
    name: opt(portNameField),
    protocol: req(protocolField),
    port: req(int(1, 65535)),
    hostPort: opt(int(0, 65535)),
    hostIP: opt(netField),
  }),
  (p, path, issues) => {
    checkProtocol(p.protocol, path, issues);
    if ((p.name ?? '') === '' && (p.hostPort ?? 0) === 0 && !issues.hasAt(`${path}.name`)) {
      issues.add(`${path}.name`, `port ${p.port} must have a name unless a hostPort is set`);
    }
  },
);
