/**
 * What `calico-lab up` builds (pure): for a new lab, what was asked with the defaults filled in (2 nodes, BGP
 * with agents, static without, the embedded datastore); for a lab already up in the run dir, its own settings
 * (networking, datastore, racks, agents, nodes), so `up` again never changes a lab behind the user's back.
 * Asking an existing lab for a different networking mode, datastore, rack count or agents is refused (those
 * cannot change on a running lab, nor can a Kubernetes control plane be added to one); asking for more nodes adds them, asking for fewer is refused.
 * `--kubernetes` with agents puts the lab on the Kubernetes datastore (agent-routed networking only);
 * `--kubernetes --no-agent`, or with an explicit `--datastore`, only starts a control plane beside the lab's
 * own datastore.
 */
import type { LabDatastoreChoice } from '../labkit/datastore.js';
import { agentRouted, defaultRacks, topologyProblem, type LabNetwork } from '../labkit/topology.js';

/** The `up` options the user gave (undefined: not given). */
export interface UpAsk {
  readonly nodes?: number;
  readonly network?: LabNetwork;
  readonly racks?: number;
  readonly datastore?: LabDatastoreChoice;
  /** false with `--no-agent`. */
  readonly agents?: boolean;
  /** true with `--kubernetes`. */
  readonly kubernetes?: boolean;
}

/** What a lab is (or will be) made of. */
export interface UpSettings {
  readonly nodes: number;
  readonly network: LabNetwork;
  readonly racks: number;
  readonly datastore: LabDatastoreChoice;
  readonly agents: boolean;
  /** A Kubernetes control plane runs beside the lab (`--kubernetes`). */
  readonly kubernetes: boolean;
}

export type UpPlan =
  | { readonly ok: true; readonly settings: UpSettings; readonly notes: readonly string[] }
  | { readonly ok: false; readonly problem: string };

export function describeSettings(s: UpSettings): string {
  return (
    `networking ${s.network}, datastore ${s.datastore}, ${s.racks} rack(s), ${s.nodes} node(s), ` +
    (s.agents ? 'calico-node on every node' : 'no agents') +
    (s.kubernetes ? ', a Kubernetes control plane' : '')
  );
}

function flag(key: keyof UpSettings, v: UpSettings[keyof UpSettings]): string {
  if (key === 'agents') return v === true ? 'agents' : '--no-agent';
  if (key === 'kubernetes') return v === true ? '--kubernetes' : 'no --kubernetes';
  return `--${key} ${String(v)}`;
}

/** The settings of `up` given what was asked and the lab already in the run dir, if any. */
export function planUp(ask: UpAsk, existing?: UpSettings): UpPlan {
  if (existing === undefined) {
    const agents = ask.agents ?? true;
    const network = ask.network ?? (agents ? 'bgp' : 'static');
    if (!agents && agentRouted(network)) return { ok: false, problem: '--no-agent needs --network static' };
    // An explicit --datastore keeps the lab's own datastore, the control plane beside it (the demo's way).
    const kdd = ask.kubernetes === true && agents && ask.datastore === undefined;
    if (kdd && !agentRouted(network))
      return {
        ok: false,
        problem: `--kubernetes needs the agents to route pods (--network bgp, vxlan or vxlan-crosssubnet): the lab kubelets' pods are not wired by the lab`,
      };
    const nodes = ask.nodes ?? 2;
    const racks = ask.racks ?? defaultRacks(network, nodes);
    const problem = topologyProblem(network, racks);
    if (problem !== undefined) return { ok: false, problem };
    return {
      ok: true,
      settings: {
        nodes,
        network,
        racks,
        datastore: kdd ? 'kubernetes' : (ask.datastore ?? 'embedded'),
        agents,
        kubernetes: ask.kubernetes ?? false,
      },
      notes: [],
    };
  }
  const fixed = ['network', 'datastore', 'racks', 'agents', 'kubernetes'] as const;
  const changed = fixed.filter((k) => ask[k] !== undefined && ask[k] !== existing[k]);
  if (changed.length > 0)
    return {
      ok: false,
      problem:
        `the lab is up with ${changed.map((k) => flag(k, existing[k])).join(' ')}; ` +
        `${changed.map((k) => flag(k, ask[k]!)).join(' ')} needs a new lab (down first)`,
    };
  if (ask.nodes !== undefined && ask.nodes < existing.nodes)
    return {
      ok: false,
      problem: `the lab has ${existing.nodes} nodes; up adds nodes but never removes them (down first)`,
    };
  const nodes = Math.max(existing.nodes, ask.nodes ?? 0);
  const notes = [`keeping its settings: ${describeSettings(existing)}`];
  if (nodes > existing.nodes)
    notes.push(`adding ${nodes - existing.nodes} node(s) as asked (--nodes ${nodes})`);
  return { ok: true, settings: { ...existing, nodes }, notes };
}
