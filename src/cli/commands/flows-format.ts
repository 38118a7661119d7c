/**
 * How `calicoctl flows` shows a flow, in the spirit of Whisker's table: SOURCE and DESTINATION as
 * `namespace/name` (the name alone for global things), PROTO, PORT, ACTION and POLICY, the hit that decided the
 * verdict (the last hit of the enforced trace): `tier/name rule N`, `tier/name end of tier` (named by the policy
 * that selected the endpoint), `profile <name>`. Wide adds REPORTER, PENDING (the staged verdict, when a staged
 * policy would change the enforced one), PACKETS and BYTES (in/out).
 */
import type { Flow, PolicyHit } from '../../flows/types.js';
import { tabwrite } from '../printers/table.js';

export const TABLE_HEADINGS = ['SOURCE', 'DESTINATION', 'PROTO', 'PORT', 'ACTION', 'POLICY'] as const;
export const WIDE_HEADINGS = [...TABLE_HEADINGS, 'REPORTER', 'PENDING', 'PACKETS', 'BYTES'] as const;

function endpoint(namespace: string, name: string): string {
  return namespace === '' || namespace === '-' ? name : `${namespace}/${name}`;
}

function policyName(h: PolicyHit): string {
  const name = h.namespace === '' ? h.name : `${h.namespace}/${h.name}`;
  return h.tier === '' ? name : `${h.tier}/${name}`;
}

/** The hit as a short phrase. */
export function describeHit(h: PolicyHit): string {
  if (h.kind === 'Profile') return `profile ${h.name}`;
  if (h.kind === 'EndOfTier') {
    const by = h.trigger === null ? h.tier : policyName(h.trigger);
    return `${by} end of tier`;
  }
  const staged = h.kind.startsWith('Staged') ? ' (staged)' : '';
  return `${policyName(h)} rule ${h.rule_index}${staged}`;
}

/** The hit that decided the verdict: the last of the trace (undefined when the trace is empty). */
export function decidingHit(hits: readonly PolicyHit[]): PolicyHit | undefined {
  return hits.at(-1);
}

function actionWord(a: string): string {
  return a === 'ActionUnspecified' ? '-' : a.toLowerCase();
}

export function flowRow(f: Flow, wide: boolean): string[] {
  const k = f.Key;
  const enforced = decidingHit(k.policies.enforced_policies);
  const row = [
    endpoint(k.source_namespace, k.source_name),
    endpoint(k.dest_namespace, k.dest_name),
    k.proto,
    String(k.dest_port),
    actionWord(k.action),
    enforced === undefined ? '-' : describeHit(enforced),
  ];
  if (!wide) return row;
  const pending = decidingHit(k.policies.pending_policies);
  const pendingText =
    pending === undefined || pending.action === k.action
      ? '-'
      : `${actionWord(pending.action)} by ${describeHit(pending)}`;
  return [
    ...row,
    k.reporter === 'Src' ? 'src' : k.reporter === 'Dst' ? 'dst' : '-',
    pendingText,
    `${f.packets_in}/${f.packets_out}`,
    `${f.bytes_in}/${f.bytes_out}`,
  ];
}

/** A whole table, aligned as calicoctl aligns its tables. */
export function flowsTable(flows: readonly Flow[], wide: boolean): string {
  const headings = wide ? WIDE_HEADINGS : TABLE_HEADINGS;
  return tabwrite([[...headings], ...flows.map((f) => flowRow(f, wide))]);
}

/** Fixed column widths for rows printed as they arrive (--follow): long cells are not cut, only padded. */
const FOLLOW_WIDTHS = [32, 32, 6, 6, 7, 40, 9, 30, 12, 12];

export function followLine(cells: readonly string[]): string {
  return `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd((FOLLOW_WIDTHS[i] ?? 12) + 1))).join('')}\n`;
}
