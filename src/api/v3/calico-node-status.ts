/**
 * CalicoNodeStatus (projectcalico.org/v3, cluster-scoped, reference §1.16b): asks calico-node to report
 * the named node's agent, BGP and route status every `updatePeriodSeconds` (0 = stop, at most a day). The
 * `status` is written by Calico and decoded leniently (unknown fields are dropped, not rejected).
 */
import { int, list, oneOf, opt, req, str, struct } from '../decoder.js';
import { checkSubdomain } from '../names.js';
import { calicoKindWithStatus, nameField } from './bgp-common.js';
import type {
  BGPDaemonStatus,
  CalicoNodePeer,
  CalicoNodeRoute,
  CalicoNodeStatusSpec,
  CalicoNodeStatusStatus,
} from './bgp-types.js';

const MAX_UPDATE_PERIOD_SECONDS = 86_400;
const lenient = { strict: false } as const;
const count = int(0, Number.MAX_SAFE_INTEGER);

const daemon = struct<BGPDaemonStatus>(
  {
    state: opt(oneOf(['Ready', 'NotReady'], 'state')),
    version: opt(str),
    routerID: opt(str),
    lastBootTime: opt(str),
    lastReconfigurationTime: opt(str),
  },
  lenient,
);

const peer = struct<CalicoNodePeer>(
  {
    peerIP: opt(str),
    type: opt(oneOf(['NodeMesh', 'NodePeer', 'GlobalPeer'], 'peer type')),
    state: opt(str),
    since: opt(str),
  },
  lenient,
);

const route = struct<CalicoNodeRoute>(
  {
    type: opt(oneOf(['FIB', 'RIB'], 'route type')),
    destination: opt(str),
    gateway: opt(str),
    interface: opt(str),
    learnedFrom: opt(
      struct<{ sourceType?: string; peerIP?: string }>({ sourceType: opt(str), peerIP: opt(str) }, lenient),
    ),
  },
  lenient,
);

const status = struct<CalicoNodeStatusStatus>(
  {
    lastUpdated: opt(str),
    agent: opt(
      struct<NonNullable<CalicoNodeStatusStatus['agent']>>(
        { birdV4: opt(daemon), birdV6: opt(daemon) },
        lenient,
      ),
    ),
    bgp: opt(
      struct<NonNullable<CalicoNodeStatusStatus['bgp']>>(
        {
          numberEstablishedV4: opt(count),
          numberNotEstablishedV4: opt(count),
          numberEstablishedV6: opt(count),
          numberNotEstablishedV6: opt(count),
          peersV4: opt(list(peer)),
          peersV6: opt(list(peer)),
        },
        lenient,
      ),
    ),
    routes: opt(
      struct<NonNullable<CalicoNodeStatusStatus['routes']>>(
        { routesV4: opt(list(route)), routesV6: opt(list(route)) },
        lenient,
      ),
    ),
  },
  lenient,
);

export const calicoNodeStatusCodec = calicoKindWithStatus({
  kind: 'CalicoNodeStatus',
  checkName: (name) => checkSubdomain(name),
  spec: struct<CalicoNodeStatusSpec>({
    node: req(nameField),
    classes: req(
      list(oneOf(['Agent', 'BGP', 'Routes'], 'class'), { minItems: 1, maxItems: 3, unique: true }),
    ),
    updatePeriodSeconds: opt(int(0, MAX_UPDATE_PERIOD_SECONDS)),
  }),
  status,
});
