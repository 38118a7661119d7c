/**
 * One flow key through time (Goldmane's DiachronicFlow): the key, a stable id, and one Window of summed stats per
 * aggregation bucket the key was seen in, oldest first. The aggregator adds to the window of the flow's bucket,
 * drops windows that fell out of the ring on rollover, and sums windows for a query's time range.
 */
import type { Flow, FlowKey } from '../flows/types.js';
import { intersectLabels } from './flow-key.js';

/** The stats of one key in one bucket (a class: one hidden shape, small objects). */
export class Window {
  packetsIn = 0;
  packetsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  started = 0;
  completed = 0;
  live = 0;
  readonly start: number;
  readonly end: number;
  sourceLabels: readonly string[];
  destLabels: readonly string[];
  constructor(start: number, end: number, sourceLabels: readonly string[], destLabels: readonly string[]) {
    this.start = start;
    this.end = end;
    this.sourceLabels = sourceLabels;
    this.destLabels = destLabels;
  }

  add(f: Flow): void {
    this.packetsIn += f.packets_in;
    this.packetsOut += f.packets_out;
    this.bytesIn += f.bytes_in;
    this.bytesOut += f.bytes_out;
    this.started += f.num_connections_started;
    this.completed += f.num_connections_completed;
    this.live += f.num_connections_live;
  }
}

export class DiachronicFlow {
  readonly windows: Window[] = [];
  readonly id: number;
  readonly key: FlowKey;
  constructor(id: number, key: FlowKey) {
    this.id = id;
    this.key = key;
  }

  /** Adds a flow to the window [start, end) (the bucket it falls in), creating the window in order. */
  add(f: Flow, start: number, end: number, labels: (l: readonly string[]) => readonly string[]): void {
    const ws = this.windows;
    let i = ws.length;
    while (i > 0 && ws[i - 1]!.start > start) i--;
    const at = i > 0 ? ws[i - 1] : undefined;
    if (at?.start === start) {
      at.add(f);
      at.sourceLabels = labels(intersectLabels(at.sourceLabels, f.source_labels));
      at.destLabels = labels(intersectLabels(at.destLabels, f.dest_labels));
      return;
    }
    const w = new Window(start, end, labels(f.source_labels), labels(f.dest_labels));
    w.add(f);
    ws.splice(i, 0, w);
  }

  /** Drops the windows that ended at or before `limit` (the new beginning of history). */
  expire(limit: number): void {
    let n = 0;
    while (n < this.windows.length && this.windows[n]!.end <= limit) n++;
    if (n > 0) this.windows.splice(0, n);
  }

  get empty(): boolean {
    return this.windows.length === 0;
  }

  /** Whether a window starts in [gte, lt). */
  within(gte: number, lt: number): boolean {
    return this.windows.some((w) => w.start >= gte && w.start < lt);
  }

  /**
   * The flow summed over the windows starting in [gte, lt): start_time the first window's start, end_time the
   * last one's end, labels the intersection. Undefined when no window is in range.
   */
  aggregate(gte: number, lt: number): Flow | undefined {
    let flow: Flow | undefined;
    for (const w of this.windows) {
      if (w.start < gte || w.start >= lt) continue;
      if (flow === undefined) {
        flow = {
          Key: this.key,
          start_time: w.start,
          end_time: w.end,
          source_labels: [...w.sourceLabels],
          dest_labels: [...w.destLabels],
          packets_in: 0,
          packets_out: 0,
          bytes_in: 0,
          bytes_out: 0,
          num_connections_started: 0,
          num_connections_completed: 0,
          num_connections_live: 0,
        };
      } else {
        flow.source_labels = [...intersectLabels(flow.source_labels, w.sourceLabels)];
        flow.dest_labels = [...intersectLabels(flow.dest_labels, w.destLabels)];
        flow.end_time = Math.max(flow.end_time, w.end);
      }
      flow.packets_in += w.packetsIn;
      flow.packets_out += w.packetsOut;
      flow.bytes_in += w.bytesIn;
      flow.bytes_out += w.bytesOut;
      flow.num_connections_started += w.started;
      flow.num_connections_completed += w.completed;
      flow.num_connections_live += w.live;
    }
    return flow;
  }
}
