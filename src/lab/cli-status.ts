/** `calico-lab status`: the lab's networking, Kubernetes control plane, nodes, agents and pods as text; and what `sync` could not confirm. */
import type { LabCluster } from '../labkit/cluster.js';
import type { LabSyncError } from '../labkit/cluster-agents.js';
import { labDatastore } from '../labkit/datastore.js';
import { labKubernetesStatus } from '../labkit/kube/lab.js';
import { kubeletLogFile, kubeletSandboxes } from '../labkit/kube/kubelets.js';
import { nodeAddresses } from '../labkit/topology.js';
import { clusterDnsFiles } from '../labkit/paths.js';
import { LAB_ZONE } from '../labkit/dns-zone.js';
import { labCommand } from './cli-lab.js';

export async function formatStatus(lab: LabCluster): Promise<string> {
  const ds = labDatastore(lab.state);
  const lines = [
    `run dir ${lab.runDir}`,
    `networking ${lab.network}, ${lab.state.racks ?? 1} rack(s)`,
    ds.type === 'embedded'
      ? `datastore embedded ${lab.datastorePath}`
      : ds.type === 'etcdv3'
        ? `datastore etcd ${ds.endpoint}`
        : `datastore kubernetes (KUBECONFIG=${ds.kubeconfig})`,
  ];
  lines.push(...(await labKubernetesStatus(lab.state)));
  const agents = lab.state.agentEntry !== undefined;
  const down = new Map((await lab.agentsDown()).map((d) => [d.node, d.why]));
  for (const n of lab.nodes()) {
    const a = nodeAddresses(n.index, n.rack ?? 1);
    lines.push(`node ${n.name}: rack ${n.rack ?? 1}, netns ${n.netns}, eth0 ${a.v4} ${a.v6}`);
    if (!agents) continue;
    const s = await lab.agentStatus(n.name);
    const why = down.get(n.name);
    lines.push(
      `  agent: ${why === undefined ? `running (pid ${n.agentPid ?? '?'})` : `down: ${why} (${labCommand(lab.runDir, ['agent', 'start', n.name])})`}` +
        (s === undefined
          ? ', no status yet'
          : `${why === undefined ? ',' : '; last status:'} inSync ${s.inSync}, dataplaneInSync ${s.dataplaneInSync}, appliedRevision ${s.appliedRevision}` +
            (s.lastApplyError !== null ? `, lastApplyError ${s.lastApplyError}` : '')),
      `  log: ${lab.agentLogFile(n.name)}`,
    );
    if (ds.type === 'kubernetes')
      lines.push(
        `  kubelet: ${lab.kubeletRunning(n.name) ? `running (pid ${n.kubeletPid ?? '?'})` : `down (${labCommand(lab.runDir, ['up'])} starts it)`}, log ${kubeletLogFile(n)}`,
        ...kubeletSandboxes(n).map(
          (r) =>
            `  pod ${r.namespace}/${r.name} (kubelet): ${r.ip ?? '-'}, netns ${r.netns}, ports ${r.ports.join(',') || '-'}`,
        ),
      );
  }
  const o = lab.state.outside;
  if (o !== undefined) lines.push(`outside: ${o.ip}, netns ${o.netns}, serving ${o.ports.join(',')}`);
  const dns = lab.state.clusterDns;
  if (dns !== undefined) {
    const files = clusterDnsFiles(lab.runDir);
    lines.push(
      `cluster DNS: dnsmasq in ${dns.pod} at ${lab.clusterDnsAddress() ?? '-'}:53, TTL ${dns.ttl} s: ` +
        `${lab.clusterDnsRunning() ? `running (pid ${dns.pid ?? '?'})` : `down (${labCommand(lab.runDir, ['up'])} starts it)`}, ` +
        `log ${files.logFile}; pods' resolv.conf ${files.resolvConf}`,
      `  names: ${LAB_ZONE.map((r) => `${r.name} ${r.type === 'A' ? r.address : `-> ${r.target}`}`).join(', ')}`,
    );
  }
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

/** What `sync` could not confirm, one problem a line, with the command that fixes each (run-dir aware). */
export function formatSyncError(lab: LabCluster, e: LabSyncError): string {
  const lines = [`calico-lab: not in sync at revision ${e.revision}:`];
  for (const d of e.down)
    lines.push(
      `  calico-node on ${d.node} is down: ${d.why} (log ${d.logFile}); start it: ${labCommand(lab.runDir, ['agent', 'start', d.node])}`,
    );
  for (const f of e.failed) lines.push(`  ${f.node}: ${f.message.split('\n')[0] ?? ''}`);
  if (e.unrouted.length > 0)
    lines.push(
      `  routes still missing (destination, its node, where): ${e.unrouted.join(', ')}; ` +
        `see ${labCommand(lab.runDir, ['exec', e.unrouted[0]!.split(' on ').pop() ?? 'node-1', '--', 'ip', 'route'])}`,
    );
  return lines.join('\n');
}
