/**
 * WorkloadEndpoint (projectcalico.org/v3, namespaced; internal in Calico, synthesised from Pods in
 * Kubernetes mode): the endpoint's identity, addresses, NATs, ports and QoS (reference §1.6).
 */
import { cidrContains, parseCidr, parseIp } from '../../lib/net/ip.js';
import { calicoKind } from '../codec.js';
import {
  checked,
  type Decoder,
  int,
  type Issues,
  list,
  opt,
  refine,
  req,
  show,
  struct,
  withSchema,
} from '../decoder.js';
import { INT_OR_STRING_SCHEMA } from '../json-schema.js';
import { checkContainerId, checkInterfaceName, checkMac, checkSubdomain } from '../names.js';
import { cidrField, ipField, ipv4Field, ipv6Field, netField } from '../net-fields.js';
import { workloadEndpointPortField } from './endpoint-port.js';
import type { IPNAT, QoSControls, WorkloadEndpointSpec } from './misc.js';

const nameField = checked((s) => checkSubdomain(s));
/** Calico's `omitempty,name`: empty is allowed, anything else must be a valid name. */
const optionalName = checked((s) => (s === '' ? undefined : checkSubdomain(s)));
const count = int(0, Number.MAX_SAFE_INTEGER);

const DSCP_NAMES = new Set([
  'DF',
  'EF',
  'AF11',
  'AF12',
  'AF13',
  'AF21',
  'AF22',
  'AF23',
  'AF31',
  'AF32',
  'AF33',
]);
for (const n of ['AF41', 'AF42', 'AF43', 'CS0', 'CS1', 'CS2', 'CS3', 'CS4', 'CS5', 'CS6']) DSCP_NAMES.add(n);

const dscpField: Decoder<number | string> = withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 63) return v;
  if (typeof v === 'string' && DSCP_NAMES.has(v)) return v;
  issues.add(path, `invalid DSCP ${show(v)} (must be 0-63 or one of DF, EF, AF11-AF43, CS0-CS6)`);
  return undefined;
});

const qosControls = struct<QoSControls>({
  ingressBandwidth: opt(count),
  ingressBurst: opt(count),
  ingressPeakrate: opt(count),
  ingressMinburst: opt(count),
  egressBandwidth: opt(count),
  egressBurst: opt(count),
  egressPeakrate: opt(count),
  egressMinburst: opt(count),
  ingressPacketRate: opt(count),
  ingressPacketBurst: opt(count),
  egressPacketRate: opt(count),
  egressPacketBurst: opt(count),
  ingressMaxConnections: opt(count),
  egressMaxConnections: opt(count),
  dscp: opt(dscpField),
});

const ipNat = refine(
  struct<IPNAT>({ internalIP: req(ipField), externalIP: req(ipField) }),
  (n, path, issues) => {
    if (parseIp(n.internalIP)?.family !== parseIp(n.externalIP)?.family) {
      issues.add(
        path,
        `internalIP ${show(n.internalIP)} and externalIP ${show(n.externalIP)} are of different IP versions`,
      );
    }
  },
);

function checkWorkload(spec: WorkloadEndpointSpec, path: string, issues: Issues): void {
  const networks = (spec.ipNetworks ?? []).flatMap((n) => parseCidr(n) ?? []);
  (spec.ipNetworks ?? []).forEach((n, i) => {
    const c = parseCidr(n);
    if (c !== undefined && c.prefix !== (c.family === 4 ? 32 : 128)) {
      issues.add(
        `${path}.ipNetworks[${i}]`,
        `IP network ${show(n)} contains multiple addresses (must be /32 or /128)`,
      );
    }
  });
  (spec.ipNATs ?? []).forEach((nat, i) => {
    const ip = parseIp(nat.internalIP);
    if (ip !== undefined && !networks.some((c) => cidrContains(c, ip))) {
      issues.add(
        `${path}.ipNATs[${i}].internalIP`,
        `NAT internalIP ${show(nat.internalIP)} is not in the endpoint's ipNetworks`,
      );
    }
  });
}

export const workloadEndpointCodec = calicoKind({
  kind: 'WorkloadEndpoint',
  checkName: (name) => checkSubdomain(name),
  spec: refine(
    struct<WorkloadEndpointSpec>({
      orchestrator: opt(optionalName),
      workload: opt(optionalName),
      node: opt(optionalName),
      containerID: opt(checked((s) => (s === '' ? undefined : checkContainerId(s)))),
      pod: opt(optionalName),
      endpoint: opt(optionalName),
      serviceAccountName: opt(optionalName),
      ipNetworks: opt(list(netField)),
      ipNATs: opt(list(ipNat)),
      ipv4Gateway: opt(ipv4Field),
      ipv6Gateway: opt(ipv6Field),
      profiles: opt(list(nameField)),
      interfaceName: req(checked((s) => checkInterfaceName(s, true))),
      mac: opt(checked(checkMac)),
      ports: opt(list(workloadEndpointPortField)),
      allowSpoofedSourcePrefixes: opt(list(cidrField)),
      qosControls: opt(qosControls),
    }),
    checkWorkload,
  ),
});
