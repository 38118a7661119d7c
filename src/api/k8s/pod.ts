/**
 * Kubernetes Pod (v1): only the fields policy uses are read (labels; service account, node, host
 * networking, container ports, pod IPs); unknown fields are ignored and not kept.
 */
import { decodeEnvelopeMeta, type KindCodec } from '../codec.js';
import {
  bool,
  checked,
  type Decoder,
  int,
  type Issues,
  list,
  oneOf,
  opt,
  req,
  str,
  struct,
} from '../decoder.js';
import { K8S_CORE_API_VERSION } from '../meta.js';
import { checkPortName, checkSubdomain } from '../names.js';
import { ipField } from '../net-fields.js';
import type { Container, ContainerPort, Pod, PodIP, PodSpec, PodStatus } from './types.js';

const LENIENT = { strict: false } as const;

const containerPort = struct<ContainerPort>(
  {
    name: opt(checked(checkPortName)),
    containerPort: req(int(1, 65535)),
    protocol: opt(oneOf(['TCP', 'UDP', 'SCTP'], 'protocol')),
    hostPort: opt(int(0, 65535)),
    hostIP: opt(ipField),
  },
  LENIENT,
);

const container = struct<Container>(
  { name: req(str), image: opt(str), ports: opt(list(containerPort)) },
  LENIENT,
);

const podSpec = struct<PodSpec>(
  {
    nodeName: opt(checked((s) => (s === '' ? undefined : checkSubdomain(s, 'node name')))),
    serviceAccountName: opt(
      checked((s) => (s === '' ? undefined : checkSubdomain(s, 'service account name'))),
    ),
    hostNetwork: opt(bool),
    containers: opt(list(container)),
    initContainers: opt(list(container)),
  },
  LENIENT,
);

const podStatus = struct<PodStatus>(
  {
    podIP: opt(ipField),
    podIPs: opt(list(struct<PodIP>({ ip: req(ipField) }, LENIENT))),
    phase: opt(str),
  },
  LENIENT,
);

function field<T>(
  doc: Readonly<Record<string, unknown>>,
  key: string,
  d: Decoder<T>,
  issues: Issues,
): T | undefined {
  const raw = doc[key];
  return raw === undefined || raw === null ? undefined : d(raw, key, issues);
}

export const podCodec: KindCodec<'Pod', Pod> = {
  kind: 'Pod',
  apiVersion: K8S_CORE_API_VERSION,
  documentKind: 'Pod',
  decode(doc, issues) {
    const metadata = decodeEnvelopeMeta(doc, issues, {
      kind: 'Pod',
      checkName: (n) => checkSubdomain(n),
      topLevel: [],
      strict: false,
    });
    const spec = field(doc, 'spec', podSpec, issues) ?? {};
    const status = field(doc, 'status', podStatus, issues);
    if (metadata === undefined || issues.hasAt('spec') || issues.hasAt('status')) return undefined;
    const pod: Pod = { apiVersion: K8S_CORE_API_VERSION, kind: 'Pod', metadata, spec };
    if (status !== undefined) pod.status = status;
    return pod;
  },
};
