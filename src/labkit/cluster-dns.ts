/**
 * The lab's cluster DNS: a real DNS server (Debian's dnsmasq) in the pod `kube-system/coredns` (labels
 * `k8s-app: kube-dns`, as in a kubeadm cluster), serving the lab's zone (dns-zone.ts) for addresses of the
 * outside namespace, which gets one extra address per name. dnsmasq is a lab process of the pod's namespace
 * (it dies with it), started `dnsmasq --keep-in-foreground --conf-file=<run dir>/dns/dnsmasq.conf`, its log
 * `<run dir>/dns/dnsmasq.log`, its pid in the lab state; a later command adopts it only when
 * /proc/<pid>/cmdline still names that configuration file (a reused pid is not ours).
 *
 * Pods resolve through `<run dir>/dns/resolv.conf` (`nameserver <coredns IP>`), which every lab pod's probe
 * agent reads for its lookups: the query leaves the pod's namespace like a real pod's, through the node's
 * dataplane and its policy. On the lab's own datastores (embedded, etcd) there is no kube-dns Service, so the
 * lab sets FelixConfiguration `default` `dnsTrustedServers: ['<coredns IP>:53']` for the agents.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { Backend, Resource } from '../datastore/index.js';
import { waitFor } from '../lib/async.js';
import { CalicoError, NotFoundError } from '../lib/errors.js';
import { isIP } from 'node:net';
import { runChecked } from './netns.js';
import { clusterDnsFiles } from './paths.js';
import type { PodVia } from './pods.js';
import type { ProbeAgentClient } from './probe-client.js';
import type { ResolveOutcome } from './probe-protocol.js';
import { LabProcess } from './process.js';
import { podKey, type LabPodSpec } from './resources.js';
import { saveState, type ClusterDnsRecord, type LabState, type PodRecord } from './state.js';
import {
  CLUSTER_DNS_LABELS,
  CLUSTER_DNS_POD,
  CLUSTER_DNS_PORT,
  DEFAULT_DNS_TTL,
  LAB_ZONE,
  STATIC_CLUSTER_DNS_IP,
  dnsmasqConfig,
  podResolvConf,
  zoneAddresses,
} from './dns-zone.js';
import { cniUnavailableReason } from './cni.js';
import { agentRouted, type LabNetwork } from './topology.js';
import { addressesOf, type DnsQueryType } from './dns-lookup.js';
import { FILE_MODE, ensureDirSync } from '../sys/files.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';
export const CLUSTER_DNS_KEY = podKey(CLUSTER_DNS_POD.namespace, CLUSTER_DNS_POD.name);

type Signal = { readonly signal?: AbortSignal };

/** What the cluster DNS needs of the lab (cluster.ts). */
export interface ClusterDnsContext {
  readonly runner: CommandRunner;
  readonly state: LabState;
  readonly datastore: Backend;
  hasPod(key: string): boolean;
  pod(key: string): Readonly<PodRecord>;
  addPod(node: string, spec: LabPodSpec, options: Signal & { readonly via: PodVia }): Promise<unknown>;
  client(key: string): Promise<ProbeAgentClient>;
}

export interface ClusterDnsOptions extends Signal {
  /** The records' TTL in seconds. Default 30 (or what the lab's DNS was built with). */
  readonly ttl?: number;
  /** Where the pod goes when it is created. Default: the lab's last node. */
  readonly node?: string;
  /** How the pod is wired when it is created (pods.ts). */
  readonly via: PodVia;
  /** A fixed address (static labs, where no IPAM pool exists). */
  readonly ip?: string;
}

/** Why dnsmasq cannot run here, or false. */
export function clusterDnsUnavailableReason(): string | false {
  try {
    readFileSync(DNSMASQ);
    return false;
  } catch {
    return `${DNSMASQ} is missing (Debian package dnsmasq-base)`;
  }
}

/** True when `pid` runs dnsmasq with this lab's configuration file (not a reused pid). */
export function isLabDnsmasq(pid: number, configFile: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(`--conf-file=${configFile}`);
  } catch {
    return false;
  }
}

/** The `ip:53` the agents trust and pods ask. */
export function dnsServerEndpoint(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]:${CLUSTER_DNS_PORT}` : `${ip}:${CLUSTER_DNS_PORT}`;
}

/**
 * Makes the cluster DNS whole: the outside's addresses for the zone, the pod, the files, dnsmasq (started
 * unless ours runs), an answer for the first name from the pod itself (bounded wait), and, on the lab's own
 * datastores, `dnsTrustedServers`. Idempotent. Returns the pod's address.
 */
export async function ensureClusterDns(ctx: ClusterDnsContext, options: ClusterDnsOptions): Promise<string> {
  const why = clusterDnsUnavailableReason();
  if (why !== false) throw new CalicoError('CALICO_ERR_USAGE', `no cluster DNS: ${why}`);
  const outside = ctx.state.outside;
  if (outside === undefined)
    throw new CalicoError(
      'CALICO_ERR_USAGE',
      'the cluster DNS names outside addresses: add the outside first',
    );
  const sig = options.signal !== undefined ? { signal: options.signal } : {};
  for (const a of zoneAddresses())
    await runChecked(
      ctx.runner,
      'ip',
      ['-n', outside.netns, 'addr', 'replace', `${a}/32`, 'dev', 'eth0'],
      sig,
    );
  const record: ClusterDnsRecord = ctx.state.clusterDns ?? {
    pod: CLUSTER_DNS_KEY,
    ttl: options.ttl ?? DEFAULT_DNS_TTL,
  };
  const files = clusterDnsFiles(ctx.state.runDir);
  ensureDirSync(files.dir);
  writeFileSync(files.configFile, dnsmasqConfig(record.ttl), { mode: FILE_MODE });
  ctx.state.clusterDns = record;
  saveState(ctx.state);
  if (!ctx.hasPod(record.pod)) {
    const node = options.node ?? ctx.state.nodes.at(-1)?.name;
    if (node === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', 'the lab has no node for the cluster DNS');
    const spec: LabPodSpec = {
      ...CLUSTER_DNS_POD,
      labels: CLUSTER_DNS_LABELS,
      ports: [],
      ...(options.ip !== undefined ? { ip: options.ip } : {}),
    };
    await ctx.addPod(node, spec, { via: options.via, ...sig });
  }
  const pod = ctx.pod(record.pod);
  writeFileSync(files.resolvConf, podResolvConf(pod.ip), { mode: FILE_MODE });
  if (record.pid === undefined || !isLabDnsmasq(record.pid, files.configFile)) {
    const proc = LabProcess.spawn({
      netns: pod.netns,
      command: DNSMASQ,
      args: ['--keep-in-foreground', `--conf-file=${files.configFile}`],
      logFile: files.logFile,
      detached: ctx.state.detached,
    });
    record.pid = proc.pid;
    saveState(ctx.state);
    await waitServing(ctx, proc, options);
  }
  await trustClusterDns(ctx, pod.ip, sig);
  return pod.ip;
}

/** Waits (bounded) until dnsmasq answers the zone's first name, asked from its own pod on loopback. */
async function waitServing(ctx: ClusterDnsContext, proc: LabProcess, options: Signal): Promise<void> {
  const client = await ctx.client(CLUSTER_DNS_KEY);
  const first = LAB_ZONE[0]!;
  let last = '';
  await waitFor(
    async () => {
      if (!proc.isRunning())
        throw new CalicoError('CALICO_ERR_IO', `dnsmasq ${proc.exitStatus ?? ''}: ${proc.logTail(5)}`);
      const o = await client.resolve({ name: first.name, type: 'A', server: '127.0.0.1', timeoutMs: 500 });
      last = `${o.verdict}: ${o.detail}`;
      return o.rcode === 'NOERROR' && (o.records?.length ?? 0) > 0;
    },
    {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `dnsmasq in ${CLUSTER_DNS_KEY} answering ${first.name}`,
      describe: () => `last lookup ${last}; log ${proc.logTail(3)}`,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    },
  );
}

/** FelixConfiguration `default`'s dnsTrustedServers = the cluster DNS (not on KDD: kube-dns is trusted there). */
async function trustClusterDns(ctx: ClusterDnsContext, ip: string, options: Signal): Promise<void> {
  if (ctx.state.datastore?.type === 'kubernetes') return;
  const key = { kind: 'FelixConfiguration', name: 'default' };
  const stored = await ctx.datastore.get(key, options).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  const spec: Record<string, unknown> =
    (stored as { spec?: Record<string, unknown> } | undefined)?.spec ?? {};
  const want = [dnsServerEndpoint(ip)];
  if (JSON.stringify(spec.dnsTrustedServers) === JSON.stringify(want)) return;
  const next = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'FelixConfiguration',
    metadata: { ...(stored?.metadata ?? {}), name: 'default' },
    spec: { ...spec, dnsTrustedServers: want },
  } as Resource;
  await ctx.datastore.applyMany([next], options);
}

/** A lookup from pod `from` through its resolv.conf (or `server`), with the addresses the name maps to. */
export async function resolveFromPod(
  client: ProbeAgentClient,
  name: string,
  options: { readonly type?: DnsQueryType; readonly server?: string; readonly timeoutMs?: number } = {},
): Promise<ResolveOutcome & { readonly addresses: readonly string[] }> {
  const type = options.type ?? 'A';
  const o = await client.resolve({
    name,
    type,
    timeoutMs: options.timeoutMs ?? 1000,
    ...(options.server !== undefined ? { server: options.server } : {}),
  });
  const addresses = o.rcode === undefined ? [] : addressesOf(o.records ?? [], name, type);
  return { ...o, addresses };
}

/**
 * The cluster DNS of a lab of `network` (LabCluster.addClusterDns): its pod through the CNI plugin when the
 * agents route and the plugin is available, else wired by the lab (at a fixed address in a `static` lab).
 * Not in a Kubernetes-datastore lab, whose pods are the kubelets'.
 */
export function addLabClusterDns(
  ctx: ClusterDnsContext,
  network: LabNetwork,
  options: Signal & { readonly ttl?: number; readonly node?: string },
): Promise<string> {
  if (ctx.state.datastore?.type === 'kubernetes')
    throw new CalicoError(
      'CALICO_ERR_USAGE',
      "the cluster DNS runs in the lab's own pods; a Kubernetes-datastore lab's pods are the kubelets'",
    );
  const routed = agentRouted(network);
  const via: PodVia = routed && cniUnavailableReason() === false ? 'cni' : 'plumb';
  return ensureClusterDns(ctx, {
    via,
    ...(routed ? {} : { ip: STATIC_CLUSTER_DNS_IP }),
    ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
}

/** The cluster DNS pod's address, if the lab has one. */
export function clusterDnsAddress(
  lab: Pick<ClusterDnsContext, 'state' | 'hasPod' | 'pod'>,
): string | undefined {
  const dns = lab.state.clusterDns;
  return dns !== undefined && lab.hasPod(dns.pod) ? lab.pod(dns.pod).ip || undefined : undefined;
}

/** Whether the lab's dnsmasq runs (ours: its command line names the lab's configuration). */
export function clusterDnsRunning(state: Pick<LabState, 'clusterDns' | 'runDir'>): boolean {
  const pid = state.clusterDns?.pid;
  return pid !== undefined && isLabDnsmasq(pid, clusterDnsFiles(state.runDir).configFile);
}
