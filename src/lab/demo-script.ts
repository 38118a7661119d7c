/**
 * What the demo does and says (pure data): the pods, the matrix, and each policy step with the YAML applied
 * through calicoctl, what a CKS student should notice, and the expected matrix (the demo checks the kernel's
 * verdicts against it). The first two steps apply the two documents of examples/starter.yaml one at a time.
 */
import { parseAllDocuments } from 'yaml';
import type { MatrixTarget } from './demo-matrix.js';

export interface DemoPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly port: number;
  readonly role: string;
}

export const DEMO_PODS: readonly DemoPod[] = [
  {
    namespace: 'default',
    name: 'client',
    node: 'node-1',
    labels: { app: 'client' },
    port: 8080,
    role: 'a client',
  },
  {
    namespace: 'production',
    name: 'web',
    node: 'node-1',
    labels: { app: 'web' },
    port: 80,
    role: 'web server',
  },
  {
    namespace: 'production',
    name: 'db',
    node: 'node-2',
    labels: { app: 'db' },
    port: 5432,
    role: 'database',
  },
  {
    namespace: 'kube-system',
    name: 'coredns',
    node: 'node-2',
    labels: { 'k8s-app': 'kube-dns' },
    port: 53,
    role: 'cluster DNS',
  },
];

export const DEMO_SOURCES: readonly string[] = DEMO_PODS.map((p) => `${p.namespace}/${p.name}`);

export const DEMO_TARGETS: readonly MatrixTarget[] = [
  ...DEMO_PODS.map((p): MatrixTarget => ({
    key: `${p.namespace}/${p.name}`,
    protocol: p.port === 53 ? 'udp' : 'tcp',
    port: p.port,
  })),
  { key: 'outside', protocol: 'tcp', port: 80 },
];

/** A connection to a name: looked up from the pod through the cluster DNS, then connected (TCP). */
export interface DemoNameProbe {
  readonly from: string;
  readonly name: string;
  readonly port: number;
  readonly expect: 'allowed' | 'denied';
}

/** A cell to ask `calicoctl policy explain` about; `to` a pod key, `outside` or a name of the lab's DNS. */
export interface ExplainCell {
  readonly from: string;
  readonly to: string;
  readonly port: number;
}

export interface DemoStep {
  readonly title: string;
  /** calicoctl invocations, in order (`-f FILE` names a key of `files`). */
  readonly commands: readonly (readonly string[])[];
  readonly files: Readonly<Record<string, string>>;
  /** What to look at, printed before the matrix. */
  readonly explain: readonly string[];
  /** Expected rows over DEMO_TARGETS (`Y` allowed, `n` denied, `-` self), by source. */
  readonly expect: Readonly<Record<string, string>>;
  /** Cells to ask `calicoctl policy explain` about (a denied one, and the deciding allow where it teaches). */
  readonly explainCells: readonly ExplainCell[];
  /** What the lab's agents must do for the step to run (demo.ts skips it, saying why, otherwise). */
  readonly needs?: 'dns-policy';
  /** Connections by name, probed after the matrix. */
  readonly names?: readonly DemoNameProbe[];
  /** calicoctl commands run after the matrix to show what is stored. */
  readonly show: readonly (readonly string[])[];
}

/** The two documents of examples/starter.yaml, each as YAML text. */
export interface StarterParts {
  readonly denyAllIngress: string;
  readonly allowDns: string;
}

/** Finds the demo's two policies in the starter file (by kind and name). */
export function splitStarter(text: string): StarterParts {
  const docs = parseAllDocuments(text).map((d) => ({ doc: d, value: d.toJS() as unknown }));
  const find = (kind: string, name: string): string => {
    const hit = docs.find(({ value }) => {
      const v = value as { kind?: unknown; metadata?: { name?: unknown } } | null;
      return v?.kind === kind && v.metadata?.name === name;
    });
    if (hit === undefined) throw new Error(`examples/starter.yaml has no ${kind} ${name}`);
    return hit.doc.toString();
  };
  return {
    denyAllIngress: find('NetworkPolicy', 'deny-all-ingress'),
    allowDns: find('GlobalNetworkPolicy', 'allow-dns'),
  };
}

export const BEST_PRACTICE = `# 1. Default deny for every pod outside kube-system, in both directions, except DNS to the cluster DNS.
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: projectcalico.org/namespace not in {'kube-system'}
  types:
    - Ingress
    - Egress
  egress:
    - action: Allow
      protocol: UDP
      destination:
        selector: k8s-app == 'kube-dns'
        ports:
          - 53
---
# 2. Then allow exactly the application's flows, on both ends: client -> web:80 and web -> db:5432.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: client-to-web
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: client
  policyTypes:
    - Egress
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: production
          podSelector:
            matchLabels:
              app: web
      ports:
        - protocol: TCP
          port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-from-default
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes:
    - Ingress
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: default
      ports:
        - protocol: TCP
          port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-to-db
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes:
    - Egress
  egress:
    - to:
        - podSelector:
            matchLabels:
              app: db
      ports:
        - protocol: TCP
          port: 5432
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-web
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes:
    - Ingress
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: web
      ports:
        - protocol: TCP
          port: 5432
`;

/** Rows over: default/client, production/web, production/db, kube-system/coredns, outside. */
export const BASELINE_EXPECT = {
  'default/client': '-YYYY',
  'production/web': 'Y-YYY',
  'production/db': 'YY-YY',
  'kube-system/coredns': 'YYY-Y',
};

/**
 * DNS policy (Calico Enterprise's `destination.domains`, in the open product here): default/client may open
 * TCP 80 to names under example.com, learned from the cluster DNS's answers. default is default-deny for
 * egress already (step 3's `default-deny`, which allows DNS to kube-dns).
 */
export const ALLOW_EXAMPLE_COM = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-example-com
  namespace: default
spec:
  selector: app == 'client'
  types:
    - Egress
  egress:
    - action: Allow
      protocol: TCP
      destination:
        domains:
          - '*.example.com'
        ports:
          - 80
`;

/** After step 3's rows: by-name connections change nothing in the matrix (each name has its own address). */
const BEST_PRACTICE_EXPECT = {
  'default/client': '-YnYn',
  'production/web': 'n-YYn',
  'production/db': 'nn-Yn',
  'kube-system/coredns': 'nnn-Y',
};

/** The policy steps, with the starter file's two documents. */
export function demoSteps(starter: StarterParts): DemoStep[] {
  return [
    {
      title: "Kubernetes NetworkPolicy 'deny-all-ingress' in production (examples/starter.yaml, part 1)",
      files: { 'deny-all-ingress.yaml': starter.denyAllIngress },
      commands: [['apply', '-f', 'deny-all-ingress.yaml']],
      explain: [
        'podSelector: {} selects every pod of production, and policyTypes: [Ingress] with no ingress rules',
        'allows nothing in: web and db become isolated for ingress. Egress is untouched, and pods in other',
        'namespaces are not selected, so their traffic is as before. Calico stores it as the NetworkPolicy',
        'knp.default.deny-all-ingress (tier default, order 1000) and each node renders it into nftables.',
      ],
      expect: {
        'default/client': '-nnYY',
        'production/web': 'Y-nYY',
        'production/db': 'Yn-YY',
        'kube-system/coredns': 'Ynn-Y',
      },
      explainCells: [{ from: 'default/client', to: 'production/web', port: 80 }],
      show: [['get', 'networkpolicy', '-n', 'production', '-o', 'wide']],
    },
    {
      title: "Calico GlobalNetworkPolicy 'allow-dns' (examples/starter.yaml, part 2)",
      files: { 'allow-dns.yaml': starter.allowDns },
      commands: [['apply', '-f', 'allow-dns.yaml']],
      explain: [
        'It looks harmless: allow UDP 53, in and out. But selector all() with types [Ingress, Egress] now',
        'selects EVERY pod for egress too. A pod selected by a policy in a tier that allows nothing else hits',
        "the tier's implicit end-of-tier deny: only DNS can leave any pod. Watch every non-DNS cell turn DENY,",
        'including traffic to the outside. Lesson: a policy that selects a pod for a direction is a default',
        'deny for that direction.',
      ],
      expect: {
        'default/client': '-nnYn',
        'production/web': 'n-nYn',
        'production/db': 'nn-Yn',
        'kube-system/coredns': 'nnn-n',
      },
      explainCells: [{ from: 'default/client', to: 'outside', port: 80 }],
      show: [['get', 'globalnetworkpolicy', '-o', 'wide']],
    },
    {
      title: 'Best practice: cluster-wide default deny plus explicit allows for each flow',
      files: {
        'starter.yaml': `${starter.denyAllIngress}---\n${starter.allowDns}`,
        'best-practice.yaml': BEST_PRACTICE,
      },
      commands: [
        ['delete', '-f', 'starter.yaml'],
        ['apply', '-f', 'best-practice.yaml'],
      ],
      explain: [
        "Remove the starter policies, then: one GlobalNetworkPolicy 'default-deny' selects every pod outside",
        'kube-system for both directions and allows only DNS to the cluster DNS; Kubernetes NetworkPolicies',
        'then allow exactly client -> web:80 and web -> db:5432, each on both ends (egress of the sender AND',
        'ingress of the receiver, since both are default-deny). kube-system is not selected, so coredns still',
        'reaches the outside, and nothing else does.',
      ],
      expect: BEST_PRACTICE_EXPECT,
      explainCells: [{ from: 'default/client', to: 'production/db', port: 5432 }],
      show: [
        ['get', 'globalnetworkpolicy', '-o', 'wide'],
        ['get', 'networkpolicy', '--all-namespaces', '-o', 'wide'],
      ],
    },
    {
      title: 'DNS policy: default/client may reach *.example.com by name (destination.domains)',
      needs: 'dns-policy',
      files: { 'allow-example-com.yaml': ALLOW_EXAMPLE_COM },
      commands: [['apply', '-f', 'allow-example-com.yaml']],
      explain: [
        "default is default-deny for egress since step 3 ('default-deny' allows only DNS to kube-dns). This",
        'policy allows default/client TCP 80 to any name matching *.example.com. The rule names no address:',
        'each node learns them from the answers of the trusted DNS server (dnsTrustedServers: the cluster DNS,',
        'kube-system/coredns) and holds each answer until its addresses are programmed, so the first',
        'connection after a lookup already works. Enforcement is by IP: evil.test resolves to an address no',
        'allowed name has, so it stays denied; cdn.example.com is allowed through its CNAME chain. The matrix',
        'does not change (no name points at a pod or at the outside address probed there).',
      ],
      expect: BEST_PRACTICE_EXPECT,
      names: [
        { from: 'default/client', name: 'api.example.com', port: 80, expect: 'allowed' },
        { from: 'default/client', name: 'www.example.com', port: 80, expect: 'allowed' },
        { from: 'default/client', name: 'cdn.example.com', port: 80, expect: 'allowed' },
        { from: 'default/client', name: 'evil.test', port: 80, expect: 'denied' },
        { from: 'production/web', name: 'api.example.com', port: 80, expect: 'denied' },
      ],
      explainCells: [
        { from: 'default/client', to: 'api.example.com', port: 80 },
        { from: 'default/client', to: 'evil.test', port: 80 },
      ],
      show: [['get', 'networkpolicy', '-n', 'default', '-o', 'yaml']],
    },
    {
      title:
        'Staged policy: what if production/web stopped accepting default/client? (StagedGlobalNetworkPolicy)',
      files: { 'lockdown-web.yaml': LOCKDOWN_WEB },
      commands: [['apply', '-f', 'lockdown-web.yaml']],
      explain: [
        'A staged policy is evaluated but never enforced: the matrix does not change. Each node evaluates it',
        'as if it were enforced and puts the result in every flow as the PENDING policy trace, beside the',
        "ENFORCED one. The flows below show client -> web allowed today and what 'lockdown-web' would do:",
        'deny it at ingress. Promote it by applying the same spec as a GlobalNetworkPolicy.',
      ],
      expect: BEST_PRACTICE_EXPECT,
      explainCells: [],
      show: [['get', 'stagedglobalnetworkpolicy', '-o', 'wide']],
    },
  ];
}

/** Step 5's staged policy: web stops accepting the client, ahead of the Kubernetes policy that allows it. */
export const LOCKDOWN_WEB = `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata:
  name: lockdown-web
spec:
  tier: default
  order: 10
  selector: app == 'web'
  types:
    - Ingress
  ingress:
    - action: Deny
      protocol: TCP
      source:
        selector: app == 'client'
`;

/** The files whose policies are in force after `steps` (a step that deletes replaces what came before). */
export function filesInForce(steps: readonly DemoStep[]): string[] {
  let files: string[] = [];
  for (const s of steps) {
    const applied = s.commands.filter((c) => c[0] === 'apply').map((c) => c[2]!);
    files = s.commands.some((c) => c[0] === 'delete') ? applied : [...files, ...applied];
  }
  return files;
}

/** The pods and namespaces as Kubernetes objects, for `policy explain` (which works offline on files). */
export function workloadsYaml(ipOf: (key: string) => string): string {
  const docs: string[] = [];
  for (const ns of [...new Set(DEMO_PODS.map((p) => p.namespace))]) {
    docs.push(
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    kubernetes.io/metadata.name: ${ns}\n`,
    );
  }
  for (const p of DEMO_PODS) {
    const labels = Object.entries(p.labels)
      .map(([k, v]) => `    ${k}: ${v}\n`)
      .join('');
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${p.name}\n  namespace: ${p.namespace}\n  labels:\n${labels}` +
        `spec:\n  nodeName: ${p.node}\nstatus:\n  podIP: ${ipOf(`${p.namespace}/${p.name}`)}\n`,
    );
  }
  return docs.join('---\n');
}
