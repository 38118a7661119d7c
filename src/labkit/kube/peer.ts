/**
 * The peer: the upstream reference NetworkPolicy implementation, sigs.k8s.io/kube-network-policies, run on a
 * KubeLab's nodes in place of calico-node (`KubeLab.start(n, { policyAgent: 'kube-network-policies' })`), so
 * that the same pods and policies can be measured against both (docs/design/peer.md).
 *
 * Built by scripts/build-kube-network-policies.sh (with its one patch: the xtables NFQUEUE target in place of
 * the nftables `queue` statement this kernel refuses). Per node, one process inside the node's namespace:
 *
 *   ip netns exec <node ns> unshare --mount sh -c '<tmpfs on /run; /run/secrets/.../serviceaccount -> dir>'
 *     kube-network-policies --hostname-override <node> --disable-nri --metrics-bind-address 127.0.0.1:9080
 *
 * The program has no kubeconfig flag: it reads the in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT and
 * the service-account token and CA under /var/run/secrets/kubernetes.io/serviceaccount). The lab gives it
 * that in a private mount namespace (nothing is mounted or written outside it and the node's run dir): a
 * token of the ServiceAccount kube-system/kube-network-policies (RBAC as upstream's install manifest: read
 * pods, namespaces, nodes and NetworkPolicies), the lab's CA, and the node namespace's API relay on
 * 127.0.0.1. Ready once its table `inet kube-network-policies` exists (informers synced, rules written).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../lib/async.js';
import { CalicoError } from '../../lib/errors.js';
import { repoRoot } from '../../sys/repo-root.js';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import type { NodeRecord } from '../state.js';
import { LabProcess } from '../process.js';

/** Who enforces NetworkPolicy on a KubeLab's nodes. */
export const POLICY_AGENTS = ['calico-node', 'kube-network-policies'] as const;
export type PolicyAgent = (typeof POLICY_AGENTS)[number];

export const PEER_PROGRAM = 'kube-network-policies';
/** The peer's nftables table (upstream's default NFTableName). */
export const PEER_TABLE = 'kube-network-policies';
const SA_NAMESPACE = 'kube-system';
const SA_NAME = 'kube-network-policies';

export function parsePolicyAgent(text: string): PolicyAgent | undefined {
  return POLICY_AGENTS.find((a) => a === text);
}

export function peerBuildScript(): string {
  return join(repoRoot(), 'scripts', 'build-kube-network-policies.sh');
}

export type PeerLookup =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/** The built peer (`build-kube-network-policies.sh --check`), or why there is none. */
export function findPeerBinary(): PeerLookup {
  const script = peerBuildScript();
  if (!existsSync(script)) return { ok: false, reason: `${script} is missing` };
  const r = spawnSync(script, ['--check'], { encoding: 'utf8', timeout: 60_000 });
  const binDir = r.stdout.trim().split('\n').pop() ?? '';
  const path = join(binDir, PEER_PROGRAM);
  if (r.status !== 0 || binDir === '' || !existsSync(path)) {
    const why = r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status ?? '?'}`;
    return {
      ok: false,
      reason: `${PEER_PROGRAM} is not built (${why}): build it with ${script} (about 10 min, once)`,
    };
  }
  return { ok: true, path };
}

/** What every node's peer needs from the cluster: a token, the CA, the API server's port. */
export interface PeerCredentials {
  readonly token: string;
  readonly caPem: string;
  readonly port: number;
}

type Kubectl = (args: readonly string[], options?: { readonly stdin?: string }) => Promise<string>;

/**
 * Creates the peer's ServiceAccount, ClusterRole and binding (idempotent, through kubectl apply) and returns
 * a token for it with the lab's CA and the API server's port (from the kubeconfig).
 */
export async function peerCredentials(kubectl: Kubectl): Promise<PeerCredentials> {
  const manifest = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA_NAME, namespace: SA_NAMESPACE } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: SA_NAME },
        rules: [
          { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: ['list', 'watch'] },
          { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: SA_NAME },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SA_NAME },
        subjects: [{ kind: 'ServiceAccount', name: SA_NAME, namespace: SA_NAMESPACE }],
      },
    ],
  };
  await kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(manifest) });
  const token = (await kubectl(['create', 'token', SA_NAME, '-n', SA_NAMESPACE, '--duration', '24h'])).trim();
  const view = async (path: string): Promise<string> =>
    (await kubectl(['config', 'view', '--raw', '--minify', '-o', `jsonpath={${path}}`])).trim();
  const server = new URL(await view('.clusters[0].cluster.server'));
  const caData = await view(".clusters[0].cluster['certificate-authority-data']");
  const caFile = await view(".clusters[0].cluster['certificate-authority']");
  const caPem = caData !== '' ? Buffer.from(caData, 'base64').toString('utf8') : await readText(caFile);
  if (server.hostname !== '127.0.0.1' || caPem === '' || token === '')
    throw new CalicoError(
      'CALICO_ERR_USAGE',
      `${PEER_PROGRAM} needs the lab's API server on 127.0.0.1 with a CA (kubeconfig server ${server.href})`,
    );
  return { token, caPem, port: Number(server.port || 443) };
}

async function readText(path: string): Promise<string> {
  if (path === '') return '';
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

// Inside the private mount namespace: a tmpfs on /run (so /var/run/secrets can be made without touching the
// host's /run), the service-account dir linked from the node's run dir, then the program itself.
const IN_CLUSTER_SH =
  'mount -t tmpfs -o size=1m,mode=0755 calico-lab-peer /run && ' +
  'mkdir -p /run/secrets/kubernetes.io && ln -s "$1" /run/secrets/kubernetes.io/serviceaccount && ' +
  'shift && exec "$@"';

export function peerLogFile(node: Pick<NodeRecord, 'runDir'>): string {
  return join(node.runDir, `${PEER_PROGRAM}.log`);
}

/** Starts the peer on `node` and waits (bounded) until its table is in the node's namespace. */
export async function startPeer(
  node: Pick<NodeRecord, 'name' | 'netns' | 'runDir'>,
  o: {
    readonly binary: string;
    readonly credentials: PeerCredentials;
    readonly timeoutMs?: number;
    readonly signal?: AbortSignal;
  },
): Promise<LabProcess> {
  const sa = join(node.runDir, PEER_PROGRAM, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), o.credentials.token, { mode: 0o600 });
  writeFileSync(join(sa, 'ca.crt'), o.credentials.caPem);
  writeFileSync(join(sa, 'namespace'), SA_NAMESPACE);
  const proc = LabProcess.spawn({
    netns: node.netns,
    command: 'unshare',
    args: [
      ...['--mount', '--propagation', 'private', 'sh', '-c', IN_CLUSTER_SH, 'sh', sa, o.binary],
      ...['--hostname-override', node.name, '--disable-nri', '--metrics-bind-address', '127.0.0.1:9080'],
    ],
    env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(o.credentials.port) },
    logFile: peerLogFile(node),
  });
  const runner = new NodeCommandRunner();
  try {
    await waitFor(
      async () => {
        if (!proc.isRunning())
          throw new CalicoError(
            'CALICO_ERR_IO',
            `${PEER_PROGRAM} on ${node.name} ${proc.exitStatus ?? 'exited'}: ${proc.logTail(10)}`,
          );
        const r = await runner.run(
          'ip',
          ['netns', 'exec', node.netns, 'nft', 'list', 'table', 'inet', PEER_TABLE],
          {
            timeoutMs: 5000,
          },
        );
        return r.code === 0;
      },
      {
        timeoutMs: o.timeoutMs ?? 60_000,
        intervalMs: 100,
        what: `${PEER_PROGRAM} on ${node.name} writing its table (log ${peerLogFile(node)})`,
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
      },
    );
  } catch (e) {
    await proc.stop(2000);
    throw e;
  }
  return proc;
}
