/**
 * Node (projectcalico.org/v3, cluster-scoped; internal in Calico, reference §1.16): the BGP identity of a
 * host (addresses, AS number, route-reflector cluster id), its tunnel addresses, and where it came from
 * (orchRefs). `status` (WireGuard keys, pod CIDRs) is written by calico-node and kept as decoded.
 */
import { checked, type Decoder, list, oneOf, opt, refine, req, show, str, struct } from '../decoder.js';
import { checkInterfaceName, checkMac, checkSubdomain } from '../names.js';
import { cidrField, ipField, ipv4Field, ipv6Field } from '../net-fields.js';
import { parseCidr } from '../../lib/net/ip.js';
import { asNumberField, calicoKindWithStatus } from './bgp-common.js';
import type {
  NodeAddress,
  NodeBGPSpec,
  NodeInterface,
  NodeSpec,
  NodeStatus,
  NodeWireguardSpec,
  OrchRef,
} from './bgp-types.js';

function familyCidr(family: 4 | 6): Decoder<string> {
  return checked((s) =>
    parseCidr(s)?.family === family ? undefined : `invalid IPv${family} address or CIDR ${show(s)}`,
  );
}

const macField = checked(checkMac);

const WIREGUARD_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const wireguardKey = checked((s) =>
  WIREGUARD_KEY.test(s) ? undefined : `invalid WireGuard public key ${show(s)} (32 bytes, base64)`,
);

const bgpSpec: Decoder<NodeBGPSpec> = refine(
  struct<NodeBGPSpec>({
    asNumber: opt(asNumberField),
    ipv4Address: opt(familyCidr(4)),
    ipv6Address: opt(familyCidr(6)),
    ipv4IPIPTunnelAddr: opt(ipv4Field),
    routeReflectorClusterID: opt(ipv4Field),
  }),
  (b, path, issues) => {
    const empty = Object.values(b).every((v) => v === undefined || v === '');
    if (empty && !issues.hasAt(path)) issues.add(path, 'spec.bgp should not be empty');
  },
);

const spec = struct<NodeSpec>({
  bgp: opt(bgpSpec),
  ipv4VXLANTunnelAddr: opt(ipv4Field),
  vxlanTunnelMACAddr: opt(macField),
  ipv6VXLANTunnelAddr: opt(ipv6Field),
  vxlanTunnelMACAddrV6: opt(macField),
  orchRefs: opt(list(struct<OrchRef>({ nodeName: opt(str), orchestrator: req(str) }))),
  wireguard: opt(
    struct<NodeWireguardSpec>({ interfaceIPv4Address: opt(ipv4Field), interfaceIPv6Address: opt(ipv6Field) }),
  ),
  addresses: opt(
    list(
      struct<NodeAddress>({
        address: req(cidrField),
        type: opt(oneOf(['CalicoNodeIP', 'InternalIP', 'ExternalIP'], 'address type')),
      }),
    ),
  ),
  interfaces: opt(
    list(
      struct<NodeInterface>({
        name: req(checked((s) => checkInterfaceName(s, false))),
        addresses: opt(list(ipField)),
      }),
    ),
  ),
});

const status = struct<NodeStatus>({
  wireguardPublicKey: opt(wireguardKey),
  wireguardPublicKeyV6: opt(wireguardKey),
  podCIDRs: opt(list(cidrField)),
});

export const nodeCodec = calicoKindWithStatus({
  kind: 'Node',
  checkName: (name) => checkSubdomain(name),
  spec,
  status,
});
