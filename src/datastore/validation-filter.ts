/**
 * The validation filter at the syncer's exit (Felix's ValidationFilter, but keep-last-good instead of
 * treat-as-missing). Every value the syncer delivers has passed `resourceProblem` (validation.ts); a bad
 * value is not forwarded, so consumers keep the last good version they have, and a key that never had a
 * good value is not applied at all. Deletes are forwarded (the resource is really gone). Each bad
 * (key, revision) is reported once; a key stops being reported when it becomes valid again or is deleted.
 *
 *   backend list/watch ──set──► valid? ──yes──► forward `set` (drop duplicates)      clear "bad" if it was
 *                                  └──no───► record as bad, report once, forward nothing
 *                      ──invalid──────────► record as bad, report once, forward nothing
 *                      ──deleted──► clear "bad"; forward `deleted` if consumers have the key
 *   resync of a kind: keys listed (good or bad) are present; only keys not listed at all become deletes
 *
 * It also tracks what consumers hold (key -> revision of the last `set` forwarded), which is how the syncer
 * drops duplicates and computes a resync's differences. Pure and synchronous; the syncer feeds it.
 */
import type { InvalidStoredValue, Resource, ResourceKey, Update, WatchUpdate } from './api.js';
import { keyString } from './resource.js';
import { resourceProblem } from './validation.js';

/** A key whose current stored value is not applied. */
export interface InvalidResource extends InvalidStoredValue {
  /** The revision of the last good version consumers keep; undefined when it was never applied. */
  readonly lastGoodRevision: number | undefined;
}

/** What the filter reports (the syncer passes these on with its connection events). */
export type ValidityEvent =
  | { readonly type: 'invalid'; readonly resource: InvalidResource }
  | {
      readonly type: 'resolved';
      readonly key: ResourceKey;
      readonly revision: number;
      readonly reason: 'valid' | 'deleted';
    };

interface Held {
  readonly key: ResourceKey;
  readonly revision: number;
}

export class ValidationFilter {
  readonly #report: (e: ValidityEvent) => void;
  /** What consumers have been given: key string -> key and revision of the last `set`. */
  readonly #sent = new Map<string, Held>();
  /** Keys whose current value is bad. */
  readonly #bad = new Map<string, InvalidResource>();

  constructor(report: (e: ValidityEvent) => void) {
    this.#report = report;
  }

  /** The keys currently held back, sorted by key. */
  invalid(): InvalidResource[] {
    return [...this.#bad.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }

  /** True when consumers have no value for `key` (a bad key that needs a last good version looked up). */
  needsLastGood(invalid: InvalidStoredValue): boolean {
    const ks = keyString(invalid.key);
    return !this.#sent.has(ks) && this.#bad.get(ks)?.revision !== invalid.revision;
  }

  /** One change, in revision order. Returns the update to forward, if any. */
  accept(u: WatchUpdate): Update | undefined {
    switch (u.type) {
      case 'set': {
        const problem = resourceProblem(u.key, u.value);
        if (problem !== undefined) {
          this.#markBad({ key: u.key, revision: u.revision, problem });
          return undefined;
        }
        return this.#good(u.key, u.value, u.revision);
      }
      case 'invalid':
        this.#markBad(u);
        return undefined;
      case 'deleted': {
        const ks = keyString(u.key);
        if (this.#bad.delete(ks)) {
          this.#report({ type: 'resolved', key: u.key, revision: u.revision, reason: 'deleted' });
        }
        return this.#sent.delete(ks) ? { type: 'deleted', key: u.key, revision: u.revision } : undefined;
      }
    }
  }

  /**
   * A past good version of a bad key that consumers do not have (found in the store's history by the
   * syncer at a resync): forwarded as the version they keep. Ignored if it does not validate.
   */
  acceptLastGood(key: ResourceKey, value: Resource, revision: number): Update | undefined {
    const ks = keyString(key);
    if (this.#sent.has(ks) || resourceProblem(key, value) !== undefined) return undefined;
    this.#sent.set(ks, { key, revision });
    return { type: 'set', key, value, revision };
  }

  /**
   * A fresh list of `kind` at `revision`: good items and bad ones are present (a bad key is never turned into
   * a delete), keys of this kind that are not listed at all are deleted. Returns what to forward.
   */
  resync(
    kind: string,
    items: readonly Resource[],
    invalid: readonly InvalidStoredValue[],
    revision: number,
  ): Update[] {
    const out: Update[] = [];
    const present = new Set<string>();
    const push = (u: Update | undefined): void => {
      if (u !== undefined) out.push(u);
    };
    for (const value of items) {
      const { namespace, name } = value.metadata;
      const key: ResourceKey = namespace === undefined ? { kind, name } : { kind, namespace, name };
      present.add(keyString(key));
      push(this.accept({ type: 'set', key, value, revision: itemRevision(value, revision) }));
    }
    for (const bad of invalid) {
      present.add(keyString(bad.key));
      push(this.accept({ type: 'invalid', ...bad }));
    }
    const gone = new Map<string, ResourceKey>();
    for (const [ks, held] of [...this.#sent, ...this.#bad]) {
      if (held.key.kind === kind && !present.has(ks)) gone.set(ks, held.key);
    }
    for (const key of gone.values()) push(this.accept({ type: 'deleted', key, revision }));
    return out;
  }

  #good(key: ResourceKey, value: Resource, revision: number): Update | undefined {
    const ks = keyString(key);
    if (this.#bad.delete(ks)) this.#report({ type: 'resolved', key, revision, reason: 'valid' });
    if (this.#sent.get(ks)?.revision === revision) return undefined;
    this.#sent.set(ks, { key, revision });
    return { type: 'set', key, value, revision };
  }

  #markBad(bad: InvalidStoredValue): void {
    const ks = keyString(bad.key);
    if (this.#bad.get(ks)?.revision === bad.revision) return;
    const resource: InvalidResource = {
      key: bad.key,
      revision: bad.revision,
      problem: bad.problem,
      lastGoodRevision: this.#sent.get(ks)?.revision,
    };
    this.#bad.set(ks, resource);
    this.#report({ type: 'invalid', resource });
  }
}

/**
 * A listed item's revision: its resourceVersion, or the list's revision for an item that has none (KDD's
 * built-in `projectcalico-default-allow` Profile, which no stored object stands for). Never NaN, which would
 * poison every revision compared with it downstream.
 */
function itemRevision(value: Resource, listRevision: number): number {
  const rv = value.metadata.resourceVersion;
  const n = rv === undefined || rv === '' ? NaN : Number(rv);
  return Number.isSafeInteger(n) ? n : listRevision;
}
