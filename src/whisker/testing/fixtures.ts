/**
 * The viewer tests' world: three policies in an embedded datastore and the flows they gave. `db` was denied by
 * GlobalNetworkPolicy `deny-db` (ingress rule 1); `web` was allowed by NetworkPolicy `shop/allow-web` (ingress
 * rule 0), while the staged policy `staged-deny-web` would deny it (pending Deny differs from enforced Allow).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeResource } from '../../api/decode.js';
import { openBackend, type Backend } from '../../datastore/index.js';
import type { Action, Flow, PolicyHit, PolicyKind } from '../../flows/types.js';

export const POLICIES: readonly unknown[] = [
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'deny-db' },
    spec: {
      order: 10,
      selector: "app == 'db'",
      types: ['Ingress'],
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: "app == 'api'" } },
        { action: 'Deny', protocol: 'TCP', destination: { ports: [5432] } },
      ],
    },
  },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-web', namespace: 'shop' },
    spec: {
      order: 100,
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }],
    },
  },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'StagedGlobalNetworkPolicy',
    metadata: { name: 'staged-deny-web' },
    spec: {
      order: 1,
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Deny', protocol: 'TCP', source: { selector: "app == 'client'" } }],
    },
  },
];

function hit(kind: PolicyKind, name: string, action: Action, rule: number, namespace = ''): PolicyHit {
  return { kind, namespace, name, tier: 'default', action, policy_index: 0, rule_index: rule, trigger: null };
}

function flow(
  src: [string, string],
  dst: [string, string],
  port: number,
  action: Action,
  enforced: PolicyHit[],
  pending: PolicyHit[],
  startTime: number,
): Flow {
  return {
    Key: {
      source_name: src[1],
      source_namespace: src[0],
      source_type: 'WorkloadEndpoint',
      dest_name: dst[1],
      dest_namespace: dst[0],
      dest_type: 'WorkloadEndpoint',
      dest_port: port,
      dest_service_name: '',
      dest_service_namespace: '',
      dest_service_port_name: '',
      dest_service_port: 0,
      proto: 'tcp',
      reporter: 'Dst',
      action,
      policies: { enforced_policies: enforced, pending_policies: pending },
    },
    start_time: startTime,
    end_time: startTime + 15,
    source_labels: [`app=${src[1].replace(/-\*$/, '')}`],
    dest_labels: [`app=${dst[1].replace(/-\*$/, '')}`],
    packets_in: 3,
    packets_out: action === 'Deny' ? 0 : 2,
    bytes_in: 180,
    bytes_out: action === 'Deny' ? 0 : 120,
    num_connections_started: 1,
    num_connections_completed: action === 'Deny' ? 0 : 1,
    num_connections_live: 0,
  };
}

/** The denied flow (frontend → db:5432) and the allowed one whose pending verdict is Deny (client → web:80). */
export function sampleFlows(nowSeconds = Math.floor(Date.now() / 1000)): { denied: Flow; allowed: Flow } {
  const deny = hit('GlobalNetworkPolicy', 'deny-db', 'Deny', 1);
  return {
    denied: flow(['shop', 'frontend-*'], ['data', 'db-*'], 5432, 'Deny', [deny], [deny], nowSeconds - 60),
    allowed: flow(
      ['shop', 'client-*'],
      ['shop', 'web-*'],
      80,
      'Allow',
      [hit('CalicoNetworkPolicy', 'allow-web', 'Allow', 0, 'shop')],
      [hit('StagedGlobalNetworkPolicy', 'staged-deny-web', 'Deny', 0)],
      nowSeconds - 30,
    ),
  };
}

export interface TestDatastore {
  readonly backend: Backend;
  /** The SQLite file (for a program started with CALICO_DATASTORE_PATH). */
  readonly path: string;
  close(): Promise<void>;
}

/** An embedded (SQLite) datastore in a temporary directory holding POLICIES. */
export async function policyDatastore(): Promise<TestDatastore> {
  const dir = mkdtempSync(join(tmpdir(), 'whisker-test-'));
  const path = join(dir, 'calico.db');
  const backend = await openBackend({ datastoreType: 'embedded', datastorePath: path });
  try {
    for (const doc of POLICIES) {
      const decoded = decodeResource(doc);
      if (!decoded.ok) throw new Error(`fixture policy does not decode: ${JSON.stringify(decoded.error)}`);
      await backend.create(decoded.value);
    }
  } catch (e) {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    backend,
    path,
    close: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
