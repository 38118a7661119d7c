/** `calico-lab status`: the lab's networking, nodes, agents and pods as text. */
import type { LabCluster } from '../labkit/cluster.js';
import { labDatastore } from '../labkit/datastore.js';
import { nodeAddresses } from '../labkit/topology.js';

export async function formatStatus(lab: LabCluster): Promise<string> {
  const ds = labDatastore(lab.state);
  const lines = [
    `run dir ${lab.runDir}`,
    `networking ${lab.network}, ${lab.state.racks ?? 1} rack(s)`,
    ds.type === 'embedded' ? `datastore embedded ${lab.datastorePath}` : `datastore etcd ${ds.endpoint}`,
  ];
  const agents = lab.state.agentEntry !== undefined;
  for (const n of lab.nodes()) {
    const a = nodeAddresses(n.index, n.rack ?? 1);
    lines.push(`node ${n.name}: rack ${n.rack ?? 1}, netns ${n.netns}, eth0 ${a.v4} ${a.v6}`);
    if (!agents) continue;
    const running = lab.agentRunning(n.name);
    const s = await lab.agentStatus(n.name);
    lines.push(
      `  agent: ${running ? `running (pid ${n.agentPid ?? '?'})` : 'not running'}` +
        (s === undefined
          ? ', no status yet'
          : `, inSync ${s.inSync}, dataplaneInSync ${s.dataplaneInSync}, appliedRevision ${s.appliedRevision}` +
            (s.lastApplyError !== null ? `, lastApplyError ${s.lastApplyError}` : '')),
      `  log: ${lab.agentLogFile(n.name)}`,
    );
  }
  const o = lab.state.outside;
  if (o !== undefined) lines.push(`outside: ${o.ip}, netns ${o.netns}, serving ${o.ports.join(',')}`);
  for (const p of lab.pods()) {
    const key = `${p.namespace}/${p.name}`;
    const labels = Object.entries(p.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    lines.push(
      `pod ${key} on ${p.node} (${p.via === 'cni' ? 'CNI' : 'lab-wired'}): ${p.ip || '-'}, netns ${p.netns}, ` +
        `${p.hostIfname}, ports ${p.ports.join(',') || '-'}, labels ${labels || '-'}` +
        (agents ? `, endpoint ${lab.endpointProgrammed(key) ? 'programmed' : 'not programmed'}` : ''),
    );
  }
  return lines.join('\n');
}
