/** The validation filter on its own: keep-last-good, never-good, deletes, recovery, resync, duplicates. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource, ResourceKey, Update } from './api.js';
import { gnp } from './testing/fixtures.js';
import { ValidationFilter, type ValidityEvent } from './validation-filter.js';

const key = (name: string): ResourceKey => ({ kind: 'GlobalNetworkPolicy', name });
const at = (r: Resource, revision: number): Resource => ({
  ...r,
  metadata: { ...r.metadata, resourceVersion: String(revision) },
});
const set = (name: string, revision: number, order = 1): Update => ({
  type: 'set',
  key: key(name),
  value: at(gnp(name, order), revision),
  revision,
});
const badSpec = (name: string, revision: number): Update => ({
  type: 'set',
  key: key(name),
  value: at({ ...gnp(name), spec: { order: 'first' } } as Resource, revision),
  revision,
});

function harness(): { filter: ValidationFilter; events: ValidityEvent[]; summary: () => string[] } {
  const events: ValidityEvent[] = [];
  const filter = new ValidationFilter((e) => events.push(e));
  const summary = (): string[] =>
    events.map((e) =>
      e.type === 'invalid'
        ? `invalid ${e.resource.key.name}@${e.resource.revision} last-good ${String(e.resource.lastGoodRevision)}`
        : `resolved ${e.key.name}@${e.revision} ${e.reason}`,
    );
  return { filter, events, summary };
}

const shown = (u: Update | undefined): string =>
  u === undefined ? '-' : `${u.type} ${u.key.name}@${u.revision}`;

describe('ValidationFilter', () => {
  it('forwards good values, holds a bad one back (last good kept), reports each bad revision once', () => {
    const { filter, summary } = harness();
    assert.equal(shown(filter.accept(set('p', 1))), 'set p@1');
    assert.equal(shown(filter.accept(set('p', 1))), '-', 'duplicate dropped');
    assert.equal(shown(filter.accept(badSpec('p', 2))), '-');
    assert.equal(
      shown(filter.accept({ type: 'invalid', key: key('p'), revision: 3, problem: 'invalid JSON' })),
      '-',
    );
    assert.equal(
      shown(filter.accept({ type: 'invalid', key: key('p'), revision: 3, problem: 'invalid JSON' })),
      '-',
    );
    assert.deepEqual(summary(), ['invalid p@2 last-good 1', 'invalid p@3 last-good 1']);
    assert.match(summary()[0] ?? '', /p@2/);
    const held = filter.invalid();
    assert.deepEqual(
      held.map((h) => [h.problem, h.lastGoodRevision]),
      [['invalid JSON', 1]],
    );
    assert.equal(shown(filter.accept(set('p', 4, 9))), 'set p@4', 'the fix is forwarded');
    assert.deepEqual(summary().slice(2), ['resolved p@4 valid']);
    assert.deepEqual(filter.invalid(), []);
  });

  it('never applies a key that was never good; its delete is not forwarded', () => {
    const { filter, summary } = harness();
    assert.equal(shown(filter.accept(badSpec('n', 5))), '-');
    assert.equal(filter.invalid()[0]?.lastGoodRevision, undefined);
    assert.match(
      filter.invalid()[0]?.problem ?? '',
      /^invalid GlobalNetworkPolicy: spec\.order: expected a number/,
    );
    assert.equal(shown(filter.accept({ type: 'deleted', key: key('n'), revision: 6 })), '-');
    assert.deepEqual(summary(), ['invalid n@5 last-good undefined', 'resolved n@6 deleted']);
    assert.deepEqual(filter.invalid(), []);
  });

  it('forwards the delete of a held key (the resource is really gone)', () => {
    const { filter, summary } = harness();
    filter.accept(set('d', 1));
    filter.accept({ type: 'invalid', key: key('d'), revision: 2, problem: 'x' });
    assert.equal(shown(filter.accept({ type: 'deleted', key: key('d'), revision: 3 })), 'deleted d@3');
    assert.equal(shown(filter.accept({ type: 'deleted', key: key('d'), revision: 3 })), '-', 'only once');
    assert.deepEqual(summary(), ['invalid d@2 last-good 1', 'resolved d@3 deleted']);
  });

  it('a value stored under another key is held back like any bad value', () => {
    const { filter } = harness();
    const wrong: Update = { type: 'set', key: key('a'), value: at(gnp('b'), 1), revision: 1 };
    assert.equal(shown(filter.accept(wrong)), '-');
    assert.match(filter.invalid()[0]?.problem ?? '', /does not match the key/);
  });

  it('resync: bad keys are present (never deleted), unlisted keys are deleted, changes forwarded', () => {
    const { filter, summary } = harness();
    for (const u of [set('keep', 1), set('gone', 2), set('same', 3), set('bad-later', 4)]) filter.accept(u);
    const out = filter.resync(
      'GlobalNetworkPolicy',
      [at(gnp('same'), 3), at(gnp('keep', 5), 6), at(gnp('new'), 7)],
      [{ key: key('bad-later'), revision: 8, problem: 'not a JSON object (null)' }],
      9,
    );
    assert.deepEqual(out.map(shown).sort(), ['deleted gone@9', 'set keep@6', 'set new@7']);
    assert.deepEqual(summary(), ['invalid bad-later@8 last-good 4']);
    // The same list again: nothing to forward, nothing new to report.
    const again = filter.resync(
      'GlobalNetworkPolicy',
      [at(gnp('same'), 3), at(gnp('keep', 5), 6), at(gnp('new'), 7)],
      [{ key: key('bad-later'), revision: 8, problem: 'not a JSON object (null)' }],
      9,
    );
    assert.deepEqual(again, []);
    assert.equal(summary().length, 1);
    // A resync where the bad key is gone for good: its delete goes out and it is no longer reported.
    const last = filter.resync('GlobalNetworkPolicy', [], [], 10);
    assert.deepEqual(last.map(shown).sort(), [
      'deleted bad-later@10',
      'deleted keep@10',
      'deleted new@10',
      'deleted same@10',
    ]);
    assert.deepEqual(filter.invalid(), []);
  });

  it('resync: an item without a resourceVersion (a built-in) takes the list revision, never NaN', () => {
    const { filter } = harness();
    const builtIn = gnp('built-in');
    assert.equal(builtIn.metadata.resourceVersion, undefined);
    const out = filter.resync('GlobalNetworkPolicy', [builtIn, at(gnp('stored'), 4)], [], 12);
    assert.deepEqual(out.map(shown).sort(), ['set built-in@12', 'set stored@4']);
  });

  it('a last good version found in the history is forwarded once, only when consumers have none', () => {
    const { filter } = harness();
    const bad = { key: key('h'), revision: 9, problem: 'invalid JSON' };
    assert.equal(filter.needsLastGood(bad), true);
    assert.equal(shown(filter.acceptLastGood(key('h'), at(gnp('h', 2), 4), 4)), 'set h@4');
    assert.equal(filter.acceptLastGood(key('h'), at(gnp('h', 3), 5), 5), undefined, 'consumers have one');
    assert.equal(filter.needsLastGood(bad), false);
    filter.resync('GlobalNetworkPolicy', [], [bad], 10);
    assert.equal(filter.invalid()[0]?.lastGoodRevision, 4);
    const bogus = at({ ...gnp('q'), spec: { order: 'x' } } as Resource, 3);
    assert.equal(filter.acceptLastGood(key('q'), bogus, 3), undefined, 'an invalid past value is ignored');
  });
});
