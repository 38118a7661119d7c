/**
 * BGPPeer (projectcalico.org/v3, cluster-scoped, reference §1.11): which nodes peer (`node` or
 * `nodeSelector`, neither = every node) with what (`peerIP` with an optional port, `peerSelector` for other
 * Calico nodes, or `localWorkloadSelector` for local workloads), and the session options. Cross-field rules
 * are those of Calico's validator and the CRD's CEL rules.
 */
import { parseIp } from '../../lib/net/ip.js';
import { calicoKind } from '../codec.js';
import { bool, checked, int, type Issues, list, oneOf, opt, show, struct } from '../decoder.js';
import { checkSubdomain } from '../names.js';
import { selectorField } from '../selector-field.js';
import {
  asNumberField,
  bgpPasswordField,
  durationField,
  nameField,
  optionalNameField,
} from './bgp-common.js';
import type { BGPPeerSpec } from './bgp-types.js';

export interface PeerAddress {
  readonly ip: string;
  readonly family: 4 | 6;
  /** The port written after the address, or undefined. */
  readonly port: number | undefined;
}

/** Parses a peerIP: `IPv4`, `IPv4:port`, `IPv6` or `[IPv6]:port` (port 1-65535). */
export function parsePeerIP(text: string): PeerAddress | undefined {
  let host = text;
  let port: number | undefined;
  const v4Port = /^([0-9.]+):([0-9]+)$/.exec(text);
  const v6Port = /^\[([0-9a-fA-F:.]+)\]:([0-9]+)$/.exec(text);
  const m = v4Port ?? v6Port;
  if (m !== null) {
    host = m[1] ?? '';
    port = Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  }
  const ip = parseIp(host);
  if (ip === undefined) return undefined;
  return { ip: host, family: ip.family, port };
}

const peerIPField = checked((s) =>
  s === '' || parsePeerIP(s) !== undefined
    ? undefined
    : `invalid peerIP ${show(s)}: must be "<IP>", "<IPv4>:<port>" or "[<IPv6>]:<port>"`,
);

const spec = struct<BGPPeerSpec>({
  node: opt(optionalNameField),
  nodeSelector: opt(selectorField()),
  peerIP: opt(peerIPField),
  peerSelector: opt(selectorField()),
  asNumber: opt(asNumberField),
  localASNumber: opt(asNumberField),
  keepOriginalNextHop: opt(bool),
  nextHopMode: opt(oneOf(['Auto', 'Self', 'Keep'], 'nextHopMode')),
  password: opt(bgpPasswordField),
  sourceAddress: opt(oneOf(['UseNodeIP', 'None'], 'sourceAddress')),
  maxRestartTime: opt(durationField),
  keepaliveTime: opt(durationField),
  numAllowedLocalASNumbers: opt(int(0, 2_147_483_647)),
  ttlSecurity: opt(int(0, 255)),
  reachableBy: opt(
    checked((s) =>
      s === '' || parseIp(s) !== undefined ? undefined : `invalid reachableBy address ${show(s)}`,
    ),
  ),
  filters: opt(list(nameField)),
  localWorkloadSelector: opt(selectorField()),
  reversePeering: opt(oneOf(['Auto', 'Manual'], 'reversePeering')),
});

function set(s: string | undefined): s is string {
  return s !== undefined && s !== '';
}

function checkPeer(s: BGPPeerSpec, issues: Issues): void {
  const add = (field: string, message: string): void => {
    if (!issues.hasAt(`spec.${field}`)) issues.add(`spec.${field}`, message);
  };
  if (set(s.node) && set(s.nodeSelector)) add('node', 'node must be empty when nodeSelector is specified');
  if (set(s.peerIP) && set(s.peerSelector))
    add('peerIP', 'peerIP must be empty when peerSelector is specified');
  if ((s.asNumber ?? 0) !== 0 && set(s.peerSelector)) {
    add('asNumber', 'asNumber must be empty when peerSelector is specified');
  }
  if (s.keepOriginalNextHop === true && s.nextHopMode !== undefined) {
    add('nextHopMode', 'keepOriginalNextHop and nextHopMode are mutually exclusive');
  }
  if (set(s.localWorkloadSelector)) {
    if ((s.asNumber ?? 0) === 0)
      add('asNumber', 'asNumber is required when localWorkloadSelector is specified');
    if (set(s.peerIP)) add('peerIP', 'peerIP must be empty when localWorkloadSelector is specified');
    if (set(s.peerSelector)) {
      add('peerSelector', 'peerSelector must be empty when localWorkloadSelector is specified');
    }
  }
  if (set(s.reachableBy)) {
    const peer = set(s.peerIP) ? parsePeerIP(s.peerIP) : undefined;
    if (!set(s.peerIP)) add('reachableBy', 'reachableBy requires peerIP');
    else if (peer !== undefined && parseIp(s.reachableBy)?.family !== peer.family) {
      add(
        'reachableBy',
        `reachableBy ${show(s.reachableBy)} and peerIP ${show(s.peerIP)} address family mismatched`,
      );
    }
  }
}

export const bgpPeerCodec = calicoKind({
  kind: 'BGPPeer',
  checkName: (name) => checkSubdomain(name),
  spec,
  check: (_metadata, s, issues) => {
    checkPeer(s, issues);
  },
});
