/**
 * Conformance: bad stored values (written by another tool or corrupted) and the size bound. Lists and
 * watches name a bad key next to the good ones and never fail as a whole; `get` names the key and the
 * problem; a bad value can be replaced or deleted by key; `valueAt` reads past versions; a resource over
 * etcd's default request size is refused with nothing written, and one exactly at the bound is stored.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Backend, Resource, ResourceKey } from '../api.js';
import { MAX_REQUEST_BYTES, writeRequestBytes } from '../limits.js';
import { keyOf, stampCreate } from '../resource.js';
import { StoredValueError } from '../stored.js';
import { TEST_TIMEOUT_MS, optedOut, type SuiteContext } from './suite.js';
import { WatchRecorder, gnp, np, specOf, waitFor } from './fixtures.js';
import { writeRawValue } from './raw.js';

const opts = { timeout: TEST_TIMEOUT_MS };

const GNP = 'GlobalNetworkPolicy';
const gnpKey = (name: string): ResourceKey => ({ kind: GNP, name });

function hasCode(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof Error && 'code' in e, `expected a CalicoError, got ${String(e)}`);
    assert.equal(e.code, code, String(e));
    return true;
  };
}

/** A GlobalNetworkPolicy whose write request (as stored, with uid and timestamp) is exactly `bytes`. */
function sized(name: string, bytes: number): Resource {
  const withPad = (n: number): Resource => ({
    ...gnp(name),
    metadata: { name, annotations: { pad: 'x'.repeat(n) } },
  });
  const size = (r: Resource): number =>
    writeRequestBytes(gnpKey(name), JSON.stringify(stampCreate(r, Date.now())));
  const pad = bytes - size(withPad(0));
  const r = withPad(pad);
  assert.equal(size(r), bytes);
  return r;
}

/** Bad values by the problem they have: [name, stored text, expected problem]. */
const BAD: readonly (readonly [string, string, RegExp])[] = [
  ['json', '{"apiVersion": "projectcalico.org/v3", "kind": ', /^invalid JSON \(\d+ bytes\): /],
  ['array', '[1, 2]', /^not a JSON object \(an array\)$/],
  ['kind', JSON.stringify({ ...np('ns', 'kind') }), /kind mismatch: stored under GlobalNetworkPolicy/],
  ['name', JSON.stringify(gnp('someone-else')), /name mismatch: stored under "name"/],
  ['nometa', JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: GNP }), /metadata is missing/],
];

async function nextRevision(b: Backend): Promise<number> {
  return (await b.currentRevision()) + 1;
}

export function registerInvalidValueTests(ctx: SuiteContext): void {
  void it(
    'list and watch name bad stored values next to the good ones; get names key and problem',
    opts,
    async (t) => {
      if (optedOut(ctx, t, 'noRawValues')) return;
      const { backend, config } = await ctx.fresh(t);
      await backend.create(gnp('a'));
      const rec = new WatchRecorder();
      const stop = new AbortController();
      t.after(() => {
        stop.abort();
      });
      await backend.watch({ kind: GNP, fromRevision: await nextRevision(backend) }, rec.handler, {
        signal: stop.signal,
      });
      const revisions = new Map<string, number>();
      for (const [name, text] of BAD) revisions.set(name, await writeRawValue(config, gnpKey(name), text));
      await backend.create(gnp('z'));

      const listed = await backend.list({ kind: GNP });
      assert.deepEqual(
        listed.items.map((i) => i.metadata.name),
        ['a', 'z'],
      );
      assert.deepEqual(
        listed.invalid.map((i) => i.key.name),
        BAD.map(([name]) => name).sort(),
      );
      for (const [name, , problem] of BAD) {
        const bad = listed.invalid.find((i) => i.key.name === name);
        assert.ok(bad !== undefined);
        assert.deepEqual(bad.key, gnpKey(name));
        assert.equal(bad.revision, revisions.get(name));
        assert.match(bad.problem, problem);
        await assert.rejects(backend.get(gnpKey(name)), (e: unknown) => {
          assert.ok(e instanceof StoredValueError);
          assert.equal(e.code, 'CALICO_ERR_PARSE');
          assert.match(
            e.message,
            new RegExp(`^stored value of GlobalNetworkPolicy\\(${name}\\) \\(revision \\d+\\)`),
          );
          assert.match(e.problem, problem);
          return true;
        });
      }
      assert.equal((await backend.get(gnpKey('a'))).metadata.name, 'a');

      // The watch named each bad write in order and went on delivering.
      await waitFor(() => rec.updates.some((u) => u.key.name === 'z'), 'the write after the bad ones');
      assert.deepEqual(
        rec.updates.map((u) => `${u.type} ${u.key.name}`),
        [...BAD.map(([name]) => `invalid ${name}`), 'set z'],
      );
      for (const u of rec.updates) {
        if (u.type === 'invalid') assert.equal(u.revision, revisions.get(u.key.name));
      }
      assert.deepEqual(rec.errors, []);
    },
  );

  void it('a bad value is replaced or deleted by key; delete preconditions still apply', opts, async (t) => {
    if (optedOut(ctx, t, 'noRawValues')) return;
    const { backend, config } = await ctx.fresh(t);
    const x = await backend.create(gnp('x'));
    await writeRawValue(config, gnpKey('x'), 'garbage');
    const replaced = await backend.update(gnp('x', 5));
    assert.deepEqual(specOf(await backend.get(gnpKey('x'))), { order: 5 });
    assert.ok(replaced.metadata.uid !== undefined && replaced.metadata.creationTimestamp !== undefined);
    assert.notEqual(replaced.metadata.uid, x.metadata.uid, 'nothing to carry over from a bad value');

    const bad = await writeRawValue(config, gnpKey('x'), '{"not": "a resource"}');
    await assert.rejects(
      backend.delete(gnpKey('x'), { uid: x.metadata.uid ?? '' }),
      hasCode('CALICO_ERR_CONFLICT'),
    );
    await assert.rejects(
      backend.delete(gnpKey('x'), { resourceVersion: String(bad - 1) }),
      hasCode('CALICO_ERR_CONFLICT'),
    );
    assert.equal(await backend.delete(gnpKey('x'), { resourceVersion: String(bad) }), undefined);
    await assert.rejects(backend.get(gnpKey('x')), hasCode('CALICO_ERR_NOT_FOUND'));

    // A key that only ever held a bad value: applyMany replaces it, delete removes it.
    await writeRawValue(config, gnpKey('y'), '[]');
    await writeRawValue(config, gnpKey('w'), '7');
    const [y] = await backend.applyMany([gnp('y', 3)]);
    assert.deepEqual(specOf(await backend.get(gnpKey('y'))), { order: 3 });
    assert.equal(y?.metadata.name, 'y');
    assert.equal(await backend.delete(gnpKey('w')), undefined);
    assert.deepEqual((await backend.list({ kind: GNP })).invalid, []);
  });

  void it('valueAt reads past versions of a key; currentRevision is the store revision', opts, async (t) => {
    if (optedOut(ctx, t, 'noRawValues')) return;
    const { backend, config } = await ctx.fresh(t);
    const key = gnpKey('h');
    const v1 = Number((await backend.create(gnp('h', 1))).metadata.resourceVersion);
    const v2 = Number((await backend.update(gnp('h', 2))).metadata.resourceVersion);
    await backend.create(gnp('other'));
    const bad = await writeRawValue(config, key, '{oops');
    assert.equal(await backend.currentRevision(), (await backend.list({ kind: GNP })).revision);
    assert.equal(await backend.currentRevision(), bad);

    const atBad = await backend.valueAt(key, bad);
    assert.ok(atBad !== undefined);
    assert.equal(atBad.revision, bad);
    assert.match(atBad.problem ?? '', /^invalid JSON/);
    const before = await backend.valueAt(key, bad - 1);
    assert.ok(before?.value !== undefined);
    assert.equal(before.revision, v2, 'the newest version at or below the revision');
    assert.deepEqual(specOf(before.value), { order: 2 });
    assert.equal(before.value.metadata.resourceVersion, String(v2));
    const first = await backend.valueAt(key, v2 - 1);
    assert.ok(first?.value !== undefined);
    assert.deepEqual(specOf(first.value), { order: 1 });
    assert.equal(await backend.valueAt(key, v1 - 1), undefined, 'did not exist yet');

    await backend.delete(key);
    assert.equal(await backend.valueAt(key, await backend.currentRevision()), undefined, 'deleted');
    await backend.compact(await backend.currentRevision());
    assert.equal(await backend.valueAt(key, v2), undefined, 'history compacted away');
  });

  void it(
    "refuses a resource over etcd's default request size on create, update and applyMany; stores one at it",
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      const small = await backend.create(gnp('small'));
      const revision = await backend.currentRevision();
      const tooLarge = (e: unknown): boolean => {
        assert.ok(e instanceof Error && 'code' in e && e.code === 'CALICO_ERR_VALIDATION', String(e));
        assert.match(
          e.message,
          new RegExp(
            `^GlobalNetworkPolicy\\(big\\): resource too large to store: a write of it is ${MAX_REQUEST_BYTES + 1} ` +
              `bytes \\(\\d+ bytes of JSON\\), over the limit of ${MAX_REQUEST_BYTES} bytes`,
          ),
        );
        return true;
      };
      const big = sized('big', MAX_REQUEST_BYTES + 1);
      await assert.rejects(backend.create(big), tooLarge);
      await assert.rejects(backend.applyMany([gnp('first'), big]), tooLarge);
      await backend.create(gnp('big'));
      await assert.rejects(backend.update(big), tooLarge);
      if (ctx.target.limits?.foreignWrites === undefined) {
        assert.equal(await backend.currentRevision(), revision + 1, 'nothing written but the small create');
      } else {
        t.diagnostic(`revision not compared: ${ctx.target.limits.foreignWrites}; the list below must do`);
      }
      assert.deepEqual(
        (await backend.list({ kind: GNP })).items.map((i) => i.metadata.name),
        ['big', 'small'],
      );
      assert.deepEqual(specOf(await backend.get(gnpKey('big'))), { order: 1 });

      // Exactly at the bound: stored on every backend (etcd included, so the bound is etcd's real one).
      if (ctx.target.limits?.smallerObjects !== undefined) {
        t.diagnostic(`not stored at the bound: ${ctx.target.limits.smallerObjects}`);
        return;
      }
      const atLimit = sized('edge', MAX_REQUEST_BYTES);
      const stored = await backend.create(atLimit);
      assert.equal(keyOf(stored).name, 'edge');
      assert.equal(
        (await backend.get(gnpKey('edge'))).metadata.annotations?.['pad']?.length,
        atLimit.metadata.annotations?.['pad']?.length,
      );
      await backend.update({
        ...atLimit,
        metadata: { ...atLimit.metadata, resourceVersion: stored.metadata.resourceVersion ?? '' },
      });
      await backend.applyMany([atLimit]);
      assert.equal((await backend.get(gnpKey('small'))).metadata.uid, small.metadata.uid);
    },
  );
}
