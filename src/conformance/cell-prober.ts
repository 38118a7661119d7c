/**
 * Probing a state's cells on a real dataplane (the nftables driver and the Kubernetes driver): every judged
 * cell of the state's probes is started at once, with bounded concurrency, as soon as the state is in force
 * (a denied cell costs a full timeout, so probing in parallel is what keeps a run short); `probe` then hands
 * out the verdicts, each distinct connection probed once per state. SCTP cells are skipped (the kernel here
 * has no SCTP), as are protocols the lab does not probe, and hostNetwork pods where the driver does not
 * model them (the nftables driver does: lab-nodes.ts).
 * A probe that fails for another reason than policy (no route, refused, error) fails the case: counting it
 * as denied could pass a deny case for the wrong reason.
 */
import { CalicoError } from '../lib/errors.js';
import { limiter } from '../labkit/concurrency.js';
import type { ProbeOutcome, ProbeProtocol } from '../labkit/probe-protocol.js';
import type { CasePod, CaseState } from './cases.js';
import { probeCells } from './cases.js';
import type { CellOutcome, ProbeCell } from './driver.js';

export const SCTP_SKIP_REASON = 'kernel has no SCTP';
export const HOST_NETWORK_SKIP_REASON = 'hostNetwork pods are not modelled by the lab';

/** One connection attempt from a pod (`ns/name`) to a pod. */
export type CellProbe = (
  from: string,
  p: {
    readonly to: string;
    readonly protocol: ProbeProtocol;
    readonly port: number;
    readonly timeoutMs: number;
  },
) => Promise<ProbeOutcome>;

export interface CellProberOptions {
  readonly probe: CellProbe;
  /** A denied cell costs this long. Default 1000 ms. */
  readonly probeTimeoutMs?: number;
  /** Probes in flight at once. Default 128. */
  readonly concurrency?: number;
  /** Whether cells from or to hostNetwork pods are probed (the driver models them); default: skipped. */
  readonly hostNetwork?: boolean;
}

function cellKey(c: ProbeCell): string {
  return `${c.from}|${c.to}|${c.protocol.toLowerCase()}|${c.port}`;
}

export class CellProber {
  readonly #o: CellProberOptions;
  readonly #limit: <T>(task: () => Promise<T>) => Promise<T>;
  #pods = new Map<string, CasePod>();
  #verdicts = new Map<string, Promise<CellOutcome>>();

  constructor(o: CellProberOptions) {
    this.#o = o;
    this.#limit = limiter(o.concurrency ?? 128);
  }

  /** The state's pods (by `ns/name`), which cells name. */
  setPods(pods: readonly CasePod[]): void {
    this.#pods = new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  }

  /** Starts every judged cell of the state's probes (each distinct connection once). */
  start(state: CaseState, signal: AbortSignal): void {
    for (const probe of state.probes) {
      for (const [from, to] of probeCells(probe)) {
        const cell: ProbeCell = { from, to, protocol: probe.protocol, port: probe.port };
        const key = cellKey(cell);
        if (!this.#verdicts.has(key)) this.#verdicts.set(key, this.#judge(cell, signal));
      }
    }
  }

  #judge(cell: ProbeCell, signal: AbortSignal): Promise<CellOutcome> {
    const protocol = cell.protocol.toLowerCase();
    if (protocol === 'sctp') return Promise.resolve({ kind: 'skipped', reason: SCTP_SKIP_REASON });
    const from = this.#pods.get(cell.from);
    const to = this.#pods.get(cell.to);
    if (from === undefined || to === undefined)
      return Promise.resolve({ kind: 'skipped', reason: `unknown pod in ${cell.from} -> ${cell.to}` });
    if (this.#o.hostNetwork !== true && (from.hostNetwork === true || to.hostNetwork === true))
      return Promise.resolve({ kind: 'skipped', reason: HOST_NETWORK_SKIP_REASON });
    if (protocol !== 'tcp' && protocol !== 'udp')
      return Promise.resolve({ kind: 'skipped', reason: `protocol ${cell.protocol} not probed by the lab` });
    const timeoutMs = this.#o.probeTimeoutMs ?? 1000;
    const verdict = this.#limit(() => {
      signal.throwIfAborted();
      return this.#o.probe(cell.from, { to: cell.to, protocol, port: cell.port, timeoutMs });
    }).then((o) => outcome(cell, o));
    // Awaited by probe() or settle(); never left unhandled meanwhile.
    verdict.catch(() => undefined);
    return verdict;
  }

  probe(cells: readonly ProbeCell[], signal: AbortSignal): Promise<readonly CellOutcome[]> {
    return Promise.all(
      cells.map((c) => {
        const key = cellKey(c);
        let v = this.#verdicts.get(key);
        if (v === undefined) {
          v = this.#judge(c, signal);
          this.#verdicts.set(key, v);
        }
        return v;
      }),
    );
  }

  /** Waits for probes still in flight (a failed case may leave some), so none overlaps the next state. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#verdicts.values());
    this.#verdicts = new Map();
  }
}

function outcome(cell: ProbeCell, o: ProbeOutcome): CellOutcome {
  switch (o.verdict) {
    case 'allowed':
      return { kind: 'judged', allowed: true, detail: `${o.detail} in ${o.elapsedMs} ms` };
    case 'denied':
      return { kind: 'judged', allowed: false, detail: o.detail };
    case 'unreachable':
    case 'no-route':
      // Routing failed, not policy: counting this as "denied" could pass a deny case for the wrong reason.
      throw new CalicoError(
        'CALICO_ERR_IO',
        `${cell.from} -> ${cell.to} ${cell.protocol}/${cell.port}: ${o.verdict}: ${o.detail} (a lab routing fault)`,
      );
    case 'refused':
      throw new CalicoError(
        'CALICO_ERR_IO',
        `${cell.from} -> ${cell.to} ${cell.protocol}/${cell.port}: ${o.detail}: the pod does not serve the port ` +
          '(a lab bug), or the dataplane rejects instead of dropping',
      );
    case 'error':
      throw new CalicoError(
        'CALICO_ERR_IO',
        `${cell.from} -> ${cell.to} ${cell.protocol}/${cell.port}: ${o.detail}`,
      );
  }
}
