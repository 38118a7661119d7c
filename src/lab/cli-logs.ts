/**
 * `calico-lab logs [NODE] [--follow]`: the packets Calico `Log` rules logged on the lab's nodes (labkit's
 * packet-log.ts), one line each, as the kernel log would show them (`calico-packet: SRC=… DST=… PROTO=…`),
 * prefixed with the node. `--follow` keeps printing new ones until interrupted, like `tail -f`.
 */
import { errorMessage } from '../lib/errors.js';
import { sleep } from '../lib/async.js';
import type { LabCluster } from '../labkit/cluster.js';
import { formatPacket } from '../labkit/packet-log.js';

const FOLLOW_POLL_MS = 250;

export async function showLogs(
  lab: LabCluster,
  node: string | undefined,
  options: { readonly follow: boolean; readonly signal: AbortSignal },
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const nodes = node !== undefined ? [lab.node(node).name] : lab.nodes().map((n) => n.name);
  const printed = new Map<string, number>();
  const failed = new Set<string>();
  const printNew = (): void => {
    for (const n of nodes) {
      if (failed.has(n)) continue;
      let records;
      try {
        records = lab.packetLog(n);
      } catch (e) {
        err(`calico-lab: ${errorMessage(e)}`);
        failed.add(n);
        continue;
      }
      for (const r of records.slice(printed.get(n) ?? 0)) out(formatPacket(n, r));
      printed.set(n, records.length);
    }
  };
  printNew();
  if (!options.follow) {
    if (failed.size === 0 && nodes.every((n) => (printed.get(n) ?? 0) === 0))
      err(`no packets logged yet on ${nodes.join(', ')} (Log rules log the packets they match)`);
    return failed.size === nodes.length ? 1 : 0;
  }
  // Until interrupted (SIGINT/SIGTERM abort the signal), like `tail -f`.
  while (!options.signal.aborted) {
    await sleep(FOLLOW_POLL_MS, { signal: options.signal });
    printNew();
  }
  return 0;
}
