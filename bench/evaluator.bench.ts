/**
 * Reference evaluator throughput: decisions per second with 1,000 policies and 10,000 endpoints (pods in
 * 50 namespaces), both "cold" (first decision per endpoint builds its ordered policy plan) and "warm".
 */
import type { K8sNetworkPolicy, Namespace, Pod } from '../src/api/k8s/types.js';
import type { GlobalNetworkPolicy } from '../src/api/v3/policy.js';
import { parseIp } from '../src/lib/net/ip.js';
import type { IpAddr } from '../src/lib/net/ip.js';
import { buildSnapshot } from '../src/model/snapshot.js';
import type { ModelInput } from '../src/model/snapshot.js';
import { PolicyEvaluator } from '../src/policy/evaluator.js';
import type { BenchResult } from './result.js';

const NAMESPACES = 50;
const PODS = 10_000;
const POLICIES = 1_000;

function podIp(i: number): string {
  return `10.${Math.floor(i / 65536) + 1}.${Math.floor(i / 256) % 256}.${i % 256}`;
}

export function syntheticCluster(pods = PODS, policies = POLICIES): { inputs: ModelInput[]; ips: IpAddr[] } {
  const inputs: ModelInput[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const ns: Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `ns-${n}`, labels: { team: `t${n % 10}` } },
    };
    inputs.push(ns);
  }
  const ips: IpAddr[] = [];
  for (let i = 0; i < pods; i++) {
    const ip = podIp(i);
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `pod-${i}`,
        namespace: `ns-${i % NAMESPACES}`,
        labels: { app: `app-${i % 100}`, tier: ['web', 'api', 'db'][i % 3] ?? 'web' },
      },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: { podIP: ip },
    };
    inputs.push(pod);
    const parsed = parseIp(ip);
    if (parsed !== undefined) ips.push(parsed);
  }
  for (let p = 0; p < policies; p++) {
    if (p % 10 === 0) {
      const gnp: GlobalNetworkPolicy = {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: `gnp-${p}` },
        spec: {
          order: p,
          selector: `app == 'app-${p % 100}'`,
          types: ['Ingress', 'Egress'],
          ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [22] } }, { action: 'Pass' }],
          egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }, { action: 'Pass' }],
        },
      };
      inputs.push(gnp);
      continue;
    }
    const knp: K8sNetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `np-${p}`, namespace: `ns-${p % NAMESPACES}` },
      spec: {
        podSelector: { matchLabels: { app: `app-${p % 100}` } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { tier: 'web' } } },
              { namespaceSelector: { matchLabels: { team: `t${p % 10}` } } },
            ],
            ports: [{ port: 8080 }, { port: 'http' }],
          },
        ],
      },
    };
    inputs.push(knp);
  }
  return { inputs, ips };
}

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

export function benchEvaluator(): BenchResult[] {
  const { inputs, ips } = syntheticCluster();
  let t0 = performance.now();
  const snapshot = buildSnapshot(inputs);
  const buildMs = performance.now() - t0;
  t0 = performance.now();
  const ev = new PolicyEvaluator(snapshot);
  const indexMs = performance.now() - t0;
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  const decideRandom = (count: number): number => {
    let allowed = 0;
    for (let i = 0; i < count; i++) {
      const src = ips[next() % ips.length];
      const dst = ips[next() % ips.length];
      if (src === undefined || dst === undefined) continue;
      const d = ev.decide({ src: { ip: src }, dst: { ip: dst, port: 8080 }, protocol: 6 });
      if (d.verdict === 'Allow') allowed++;
    }
    return allowed;
  };
  t0 = performance.now();
  decideRandom(20_000);
  const coldMs = performance.now() - t0;
  // Warm every endpoint's plan, then measure steady state.
  for (const ip of ips) ev.decide({ src: { ip }, dst: { ip, port: 1 }, protocol: 6 });
  t0 = performance.now();
  const n = 100_000;
  decideRandom(n);
  const warmMs = performance.now() - t0;
  return [
    { name: 'evaluator: model build (1,000 policies, 10,000 pods)', value: Math.round(buildMs), unit: 'ms' },
    { name: 'evaluator: index build', value: Math.round(indexMs), unit: 'ms' },
    {
      name: 'evaluator: decisions/s, cold (plans built on first use)',
      value: rate(20_000, coldMs),
      unit: 'decisions/s',
    },
    { name: 'evaluator: decisions/s, warm', value: rate(n, warmMs), unit: 'decisions/s' },
  ];
}
