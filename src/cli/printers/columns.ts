/**
 * The `calicoctl get` table columns per kind (reference §5.3, calicoctl's resourcemgr/*.go): the default
 * (`ps`) and `wide` headings, and how each heading's cell is computed. NAMESPACE exists for every
 * namespaced kind (prepended with `-n`/`-A`, or asked for with custom-columns). A kind not listed here
 * prints NAME (and NAMESPACE), so kinds added later work without touching this file.
 */
import { kindInfo } from '../../api/kinds.js';
import { fieldAt, isObj, type Obj } from '../objects.js';
import { goFloat, goJoin, goScalar } from './go-format.js';

export interface PrintContext {
  /** BGPConfiguration `default` spec.asNumber, or 64512: what a Node without its own ASN shows. */
  readonly defaultAsNumber: string;
}

export type Cell = (obj: Obj, ctx: PrintContext) => string;

export interface TableSpec {
  readonly ps: readonly string[];
  readonly wide: readonly string[];
  readonly cells: Readonly<Record<string, Cell>>;
}

const str =
  (path: string): Cell =>
  (o) => {
    const v = fieldAt(o, path);
    return v === undefined || v === null ? '' : goScalar(v);
  };
/** A pointer field: `<nil>` when unset. */
const ptr =
  (path: string): Cell =>
  (o) => {
    const v = fieldAt(o, path);
    return typeof v === 'number' ? goFloat(v) : goScalar(v);
  };
const bool =
  (path: string): Cell =>
  (o) =>
    fieldAt(o, path) === true ? 'true' : 'false';
const int =
  (path: string): Cell =>
  (o) => {
    const v = fieldAt(o, path);
    return typeof v === 'number' || typeof v === 'string' ? String(v) : '0';
  };
const join =
  (path: string, maxLen = 0): Cell =>
  (o) =>
    goJoin(fieldAt(o, path), ',', maxLen);
const len =
  (path: string): Cell =>
  (o) => {
    const v = fieldAt(o, path);
    return String(Array.isArray(v) ? v.length : 0);
  };
/** `{{if .X}}{{.X}}{{else}}otherwise{{end}}`. */
const orElse =
  (path: string, otherwise: string): Cell =>
  (o) => {
    const v = fieldAt(o, path);
    return v === undefined || v === null || v === '' || v === 0 ? otherwise : goScalar(v);
  };

function labelSelector(sel: unknown): string {
  if (!isObj(sel)) return '<none>';
  const parts: string[] = [];
  const labels = isObj(sel['matchLabels']) ? sel['matchLabels'] : {};
  for (const k of Object.keys(labels).sort()) parts.push(`${k}=${goScalar(labels[k])}`);
  const exprs = Array.isArray(sel['matchExpressions']) ? (sel['matchExpressions'] as unknown[]) : [];
  for (const e of exprs) {
    if (!isObj(e)) continue;
    const key = goScalar(e['key']);
    const values = Array.isArray(e['values']) ? e['values'].map(goScalar).join(',') : '';
    const op = e['operator'];
    if (op === 'In') parts.push(`${key} in (${values})`);
    else if (op === 'NotIn') parts.push(`${key} notin (${values})`);
    else if (op === 'Exists') parts.push(key);
    else parts.push(`!${key}`);
  }
  return parts.length === 0 ? '<none>' : parts.join(',');
}

const POLICY: TableSpec = {
  ps: ['NAME', 'TIER'],
  wide: ['NAME', 'TIER', 'ORDER', 'SELECTOR'],
  cells: { TIER: str('spec.tier'), ORDER: ptr('spec.order'), SELECTOR: str('spec.selector') },
};

const NETWORK_SET: TableSpec = {
  ps: ['NAME'],
  wide: ['NAME', 'NETS'],
  cells: { NETS: join('spec.nets', 80) },
};

const CONFIG_ONLY_NAME: TableSpec = { ps: ['NAME'], wide: ['NAME'], cells: {} };

const BGP_FILTER_COLUMNS = ['NAME', 'NUMEXPORTV4', 'NUMIMPORTV4', 'NUMEXPORTV6', 'NUMIMPORTV6'];
const CLUSTER_INFO_COLUMNS = ['NAME', 'CLUSTERGUID', 'CLUSTERTYPE', 'CALICOVERSION', 'DATASTOREREADY'];

// One entry per kind, keyed by internal kind name.
const SPECS: Readonly<Record<string, TableSpec>> = {
  NetworkPolicy: POLICY,
  GlobalNetworkPolicy: POLICY,
  StagedNetworkPolicy: POLICY,
  StagedGlobalNetworkPolicy: POLICY,
  StagedKubernetesNetworkPolicy: {
    ps: ['NAME'],
    wide: ['NAME', 'PODSELECTOR'],
    cells: { PODSELECTOR: (o) => labelSelector(fieldAt(o, 'spec.podSelector')) },
  },
  Tier: { ps: ['NAME', 'ORDER'], wide: ['NAME', 'ORDER'], cells: { ORDER: ptr('spec.order') } },
  Profile: { ps: ['NAME'], wide: ['NAME', 'LABELS'], cells: { LABELS: join('spec.labelsToApply') } },
  HostEndpoint: {
    ps: ['NAME', 'NODE'],
    wide: ['NAME', 'NODE', 'INTERFACE', 'IPS', 'PROFILES'],
    cells: {
      NODE: str('spec.node'),
      INTERFACE: str('spec.interfaceName'),
      IPS: join('spec.expectedIPs'),
      PROFILES: join('spec.profiles'),
    },
  },
  WorkloadEndpoint: {
    ps: ['WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
    wide: ['NAME', 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE', 'PROFILES', 'NATS'],
    cells: {
      NODE: str('spec.node'),
      ORCHESTRATOR: str('spec.orchestrator'),
      WORKLOAD: (o, ctx) => {
        const w = fieldAt(o, 'spec.workload');
        return typeof w === 'string' && w !== '' ? w : str('spec.pod')(o, ctx);
      },
      NETWORKS: join('spec.ipNetworks'),
      NATS: join('spec.ipNATs'),
      PROFILES: join('spec.profiles'),
      INTERFACE: str('spec.interfaceName'),
    },
  },
  IPPool: {
    ps: ['NAME', 'CIDR', 'SELECTOR'],
    wide: [
      'NAME',
      'CIDR',
      'NAT',
      'IPIPMODE',
      'VXLANMODE',
      'DISABLED',
      'DISABLEBGPEXPORT',
      'SELECTOR',
      'ASSIGNMENTMODE',
    ],
    cells: {
      CIDR: str('spec.cidr'),
      NAT: bool('spec.natOutgoing'),
      IPIPMODE: orElse('spec.ipipMode', 'Never'),
      VXLANMODE: orElse('spec.vxlanMode', 'Never'),
      DISABLED: bool('spec.disabled'),
      DISABLEBGPEXPORT: bool('spec.disableBGPExport'),
      SELECTOR: str('spec.nodeSelector'),
      ASSIGNMENTMODE: ptr('spec.assignmentMode'),
    },
  },
  IPReservation: { ps: ['NAME'], wide: ['NAME', 'CIDRS'], cells: { CIDRS: join('spec.reservedCIDRs', 80) } },
  GlobalNetworkSet: NETWORK_SET,
  NetworkSet: NETWORK_SET,
  Node: {
    ps: ['NAME'],
    wide: ['NAME', 'ASN', 'IPV4', 'IPV6'],
    cells: {
      ASN: (o, ctx) => {
        if (!isObj(fieldAt(o, 'spec.bgp'))) return '';
        const asn = fieldAt(o, 'spec.bgp.asNumber');
        return asn === undefined || asn === null ? `(${ctx.defaultAsNumber})` : goScalar(asn);
      },
      IPV4: str('spec.bgp.ipv4Address'),
      IPV6: str('spec.bgp.ipv6Address'),
    },
  },
  BGPPeer: {
    ps: ['NAME', 'PEERIP', 'NODE', 'ASN'],
    wide: ['NAME', 'PEERIP', 'NODE', 'ASN'],
    cells: {
      PEERIP: str('spec.peerIP'),
      NODE: (o) => {
        const node = fieldAt(o, 'spec.node');
        const sel = fieldAt(o, 'spec.nodeSelector');
        if (typeof node === 'string' && node !== '') return node;
        return typeof sel === 'string' && sel !== '' ? sel : '(global)';
      },
      ASN: int('spec.asNumber'),
    },
  },
  BGPConfiguration: {
    ps: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    wide: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    cells: {
      LOGSEVERITY: str('spec.logSeverityScreen'),
      MESHENABLED: (o) => {
        const v = fieldAt(o, 'spec.nodeToNodeMeshEnabled');
        return typeof v === 'boolean' ? String(v) : '-';
      },
      ASNUMBER: orElse('spec.asNumber', '-'),
    },
  },
  BGPFilter: {
    ps: BGP_FILTER_COLUMNS,
    wide: BGP_FILTER_COLUMNS,
    cells: {
      NUMEXPORTV4: len('spec.exportV4'),
      NUMIMPORTV4: len('spec.importV4'),
      NUMEXPORTV6: len('spec.exportV6'),
      NUMIMPORTV6: len('spec.importV6'),
    },
  },
  FelixConfiguration: CONFIG_ONLY_NAME,
  KubeControllersConfiguration: CONFIG_ONLY_NAME,
  ClusterInformation: {
    ps: CLUSTER_INFO_COLUMNS,
    wide: CLUSTER_INFO_COLUMNS,
    cells: {
      CLUSTERGUID: str('spec.clusterGUID'),
      CLUSTERTYPE: str('spec.clusterType'),
      CALICOVERSION: str('spec.calicoVersion'),
      DATASTOREREADY: ptr('spec.datastoreReady'),
    },
  },
  IPAMConfiguration: {
    ps: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS'],
    wide: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS', 'MAXBLOCKSPERHOST'],
    cells: {
      STRICTAFFINITY: bool('spec.strictAffinity'),
      AUTOALLOCATEBLOCKS: bool('spec.autoAllocateBlocks'),
      MAXBLOCKSPERHOST: int('spec.maxBlocksPerHost'),
    },
  },
  CalicoNodeStatus: {
    ps: ['NAME', 'NODE'],
    wide: ['NAME', 'NODE', 'CLASSES'],
    cells: { NODE: str('spec.node'), CLASSES: join('spec.classes') },
  },
};

/** The table of a kind (by internal kind name), with NAME and, for namespaced kinds, NAMESPACE. */
export function tableSpec(kind: string): TableSpec {
  const spec = SPECS[kind] ?? CONFIG_ONLY_NAME;
  const base: Record<string, Cell> = { NAME: str('metadata.name') };
  if (kindInfo(kind)?.namespaced === true) base['NAMESPACE'] = str('metadata.namespace');
  return { ...spec, cells: { ...base, ...spec.cells } };
}

/** Every heading custom-columns accepts for a kind, in a stable order (wide first, then the rest). */
export function validHeadings(spec: TableSpec): string[] {
  return [...new Set([...spec.wide, ...Object.keys(spec.cells)])];
}
