/** Argument parsing for calico-lab (pure): label lists and named container ports. */
import { CalicoError } from '../lib/errors.js';

/** `k=v,k2=v2` -> labels; an empty string is no labels. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (key === '') throw new CalicoError('CALICO_ERR_USAGE', `invalid label "${item}" (want key=value)`);
    labels[key] = item.slice(eq + 1).trim();
  }
  return labels;
}

/** `NAME:PORT[/PROTO]` -> a Kubernetes container port (protocol TCP by default). */
export function parseNamedPort(text: string): { name: string; containerPort: number; protocol: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65535)
    throw new CalicoError('CALICO_ERR_USAGE', `invalid named port "${text}" (want NAME:PORT[/PROTO])`);
  return { name: m[1]!, containerPort: port, protocol: (m[4] ?? 'TCP').toUpperCase() };
}
