/**
 * HostEndpoint (projectcalico.org/v3, cluster-scoped): a host interface or set of host IPs under policy.
 * `node` is required, and at least one of `interfaceName` and `expectedIPs` (reference §1.5).
 */
import { calicoKind } from '../codec.js';
import { checked, list, opt, refine, struct } from '../decoder.js';
import { checkInterfaceName, checkSubdomain } from '../names.js';
import { ipField } from '../net-fields.js';
import { endpointPortField } from './endpoint-port.js';
import type { HostEndpointSpec } from './misc.js';

const nameField = checked((s) => checkSubdomain(s));

export const hostEndpointCodec = calicoKind({
  kind: 'HostEndpoint',
  checkName: (name) => checkSubdomain(name),
  spec: refine(
    struct<HostEndpointSpec>({
      node: opt(checked((s) => (s === '' ? undefined : checkSubdomain(s, 'node name')))),
      interfaceName: opt(checked((s) => (s === '' ? undefined : checkInterfaceName(s, true)))),
      expectedIPs: opt(list(ipField, { unique: true })),
      profiles: opt(list(nameField, { unique: true })),
      ports: opt(list(endpointPortField)),
    }),
    (spec, path, issues) => {
      if ((spec.node ?? '') === '' && !issues.hasAt(`${path}.node`)) {
        issues.add(`${path}.node`, 'node must be specified');
      }
      if ((spec.interfaceName ?? '') === '' && (spec.expectedIPs ?? []).length === 0) {
        if (!issues.hasAt(`${path}.interfaceName`) && !issues.hasAt(`${path}.expectedIPs`)) {
          issues.add(
            `${path}.interfaceName`,
            'at least one of interfaceName or expectedIPs must be specified',
          );
        }
      }
    },
  ),
});
