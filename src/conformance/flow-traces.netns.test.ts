/**
 * Issue 14's agreement test: with flow logs on, the policy trace the kernel logs to NFLOG for each probed
 * connection (read back as Felix's collector reads it) equals the reference evaluator's enforced trace, in
 * both directions, on the shared corpus: every case of the Kubernetes e2e NetworkPolicy truth tables, every
 * 6th cyclonus-generator case (deterministic: by position), and Calico cases with tiers, Pass, ends of tiers
 * (Deny and default Pass), profiles, egress denies and a staged policy (whose pending trace must differ).
 * IPv4, one node; a mismatch prints the case, the connection and both traces.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findTcpdump } from '../labkit/packet-log.js';
import { testdataPath } from '../test-support/repo.js';
import { parseCase, type NetpolCase } from './cases.js';
import { describeTraceMismatch, FlowTraceDriver } from './flow-traces.js';
import { NftablesDriver, nftablesUnavailableReason } from './nftables-driver.js';
import { describeMismatch, runCase } from './runner.js';

const tcpdump = findTcpdump();
const skip = nftablesUnavailableReason() || (tcpdump === undefined ? 'tcpdump is not installed' : false);

/** Cyclonus cases compared: every CYCLONUS_STRIDE-th, from the first. */
const CYCLONUS_STRIDE = 6;

function corpus(): NetpolCase[] {
  const dir = testdataPath('conformance', 'netpol');
  const out: NetpolCase[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const data = JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown[];
    const cases = data.map((c, i) => parseCase(c, `${f}[${i}]`, 4));
    out.push(...(f.startsWith('cyclonus') ? cases.filter((_, i) => i % CYCLONUS_STRIDE === 0) : cases));
  }
  return out;
}

const pod = (name: string, ip: string) => ({
  namespace: 'x',
  name,
  labels: { pod: name },
  ip,
  ports: [80, 81],
  protocols: ['TCP'],
  containerPorts: [80, 81].map((p) => ({ name: `serve-${p}-tcp`, containerPort: p, protocol: 'TCP' })),
});

const C = 'projectcalico.org/v3';

/**
 * x/b's ingress meets tier audit (default Pass, nothing matches: its end passes), tier security (Pass from
 * a; Deny port 81; else its end denies), then the default tier (a staged Deny of port 80, then allow-a);
 * x/c's egress denies port 81 to b. Everything else falls to the namespace profile.
 */
const calicoCase = parseCase(
  {
    id: 'flow-traces-calico-tiers',
    name: 'tiers, Pass, ends of tiers, profiles, egress deny and a staged policy',
    features: ['tiers', 'pass', 'staged'],
    namespaces: { x: { labels: { 'kubernetes.io/metadata.name': 'x' } } },
    pods: [pod('a', '10.244.1.10'), pod('b', '10.244.2.10'), pod('c', '10.244.3.10')],
    policies: [
      {
        apiVersion: C,
        kind: 'Tier',
        metadata: { name: 'audit' },
        spec: { order: 50, defaultAction: 'Pass' },
      },
      { apiVersion: C, kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } },
      {
        apiVersion: C,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'audit.watch' },
        spec: {
          tier: 'audit',
          selector: "pod == 'b'",
          types: ['Ingress'],
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [9999] } }],
        },
      },
      {
        apiVersion: C,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'security.sec' },
        spec: {
          tier: 'security',
          order: 10,
          selector: "pod == 'b'",
          types: ['Ingress'],
          ingress: [
            { action: 'Pass', source: { selector: "pod == 'a'" } },
            { action: 'Deny', protocol: 'TCP', destination: { ports: [81] } },
          ],
        },
      },
      {
        apiVersion: C,
        kind: 'StagedGlobalNetworkPolicy',
        metadata: { name: 'lockdown' },
        spec: {
          order: 1,
          selector: "pod == 'b'",
          types: ['Ingress'],
          ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }],
        },
      },
      {
        apiVersion: C,
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-a', namespace: 'x' },
        spec: {
          order: 100,
          selector: "pod == 'b'",
          types: ['Ingress'],
          ingress: [
            {
              action: 'Allow',
              protocol: 'TCP',
              source: { selector: "pod == 'a'" },
              destination: { ports: [80] },
            },
          ],
        },
      },
      {
        apiVersion: C,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'egress-c' },
        spec: {
          order: 100,
          selector: "pod == 'c'",
          types: ['Egress'],
          egress: [
            { action: 'Deny', protocol: 'TCP', destination: { selector: "pod == 'b'", ports: [81] } },
            { action: 'Allow' },
          ],
        },
      },
    ],
    probes: [80, 81].map((port) => ({
      protocol: 'TCP',
      port,
      ignoreLoopback: true,
      expected: {
        'x/a': { 'x/a': true, 'x/b': port === 80, 'x/c': true },
        'x/b': { 'x/a': true, 'x/b': true, 'x/c': true },
        'x/c': { 'x/a': true, 'x/b': false, 'x/c': true },
      },
    })),
  },
  'flow-traces.netns.test.ts',
  4,
);

describe('kernel NFLOG traces agree with the reference evaluator', { skip }, () => {
  it(
    'on every compared connection of the corpus and the Calico cases, IPv4',
    { timeout: 10 * 60_000 },
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'calico-flow-traces-'));
      const started = performance.now();
      const cases = [calicoCase, ...corpus()];
      const inner = new NftablesDriver({ family: 4, agentEnv: { FELIX_FLOWLOGSLOCALREPORTER: 'Enabled' } });
      const driver = new FlowTraceDriver(inner, { workDir: work, tcpdump: tcpdump ?? 'tcpdump' });
      const verdictFailures: string[] = [];
      try {
        const signal = AbortSignal.timeout(9 * 60_000);
        for (const c of cases) {
          const r = await runCase(c, driver, signal);
          if (r.error !== undefined) verdictFailures.push(`${c.id}: ${r.error}`);
          for (const m of r.mismatches) verdictFailures.push(`${c.id}: ${describeMismatch(m)}`);
        }
      } finally {
        await driver[Symbol.asyncDispose]();
        rmSync(work, { recursive: true, force: true });
      }
      const t = driver.tally;
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      const kinds = [...t.decidedBy].map(([k, n]) => `${k} ${n}`).join(', ');
      console.log(
        `flow traces: ${cases.length} cases, ${t.connections} connections, ${t.directions} directions compared ` +
          `(${kinds}), ${t.pendingDiffers} with a different pending trace, ${driver.mismatches.length} ` +
          `mismatches, ${seconds} s`,
      );
      assert.deepEqual(verdictFailures, []);
      assert.deepEqual(driver.mismatches.map(describeTraceMismatch), []);
      assert.ok(t.directions > 1000, `only ${t.directions} directions compared`);
      for (const k of ['rule', 'rule+pass', 'endOfTier', 'endOfTier+pass', 'profile'])
        assert.ok((t.decidedBy.get(k) ?? 0) > 0, `no compared direction decided by ${k}: ${kinds}`);
      assert.ok(t.pendingDiffers > 0, 'the staged policy changed no pending trace');
    },
  );
});
