/**
 * The schemas the decoders carry agree with what the decoders do, for every projectcalico.org/v3 kind:
 * every property a schema lists is a field its decoder reads, a field it does not list is refused, every
 * enum value is accepted and anything else refused, and no field is left untyped except the few whose
 * decoders take more than one JSON type on purpose.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeResource } from './decode.js';
import type { Schema } from './json-schema.js';
import { kindInfo } from './kinds.js';
import { CALICO_API_VERSION } from './meta.js';
import { allCodecs } from './registry.js';

/** Untyped on purpose: legacy IPPool `ipip` (refused whatever its value), BlockAffinity `deleted` ("true"). */
const OPEN_ON_PURPOSE = new Set(['IPPool spec.ipip', 'BlockAffinity spec.deleted']);

interface Node {
  readonly path: string;
  /** Steps from the spec: a property name, or 0 for the first item of a list. */
  readonly steps: readonly (string | 0)[];
  readonly schema: Schema;
}

function nodes(schema: Schema, path = 'spec', steps: readonly (string | 0)[] = []): Node[] {
  const out: Node[] = [{ path, steps, schema }];
  for (const [k, s] of Object.entries(schema.properties ?? {})) {
    out.push(...nodes(s, `${path}.${k}`, [...steps, k]));
  }
  if (schema.items !== undefined) out.push(...nodes(schema.items, `${path}[0]`, [...steps, 0]));
  return out;
}

/** A spec with `value` at `steps`, lists of one item on the way. */
function specWith(steps: readonly (string | 0)[], value: unknown): unknown {
  const [first, ...rest] = steps;
  if (first === undefined) return value;
  const inner = specWith(rest, value);
  return first === 0 ? [inner] : { [first]: inner };
}

const calicoCodecs = allCodecs().filter((c) => c.apiVersion === CALICO_API_VERSION);

function issuesFor(kind: string, spec: unknown): { path: string; message: string }[] {
  const metadata = kindInfo(kind)?.namespaced === true ? { name: 'x', namespace: 'ns' } : { name: 'x' };
  const r = decodeResource({ apiVersion: CALICO_API_VERSION, kind, metadata, spec });
  return r.ok ? [] : r.error;
}

test('every projectcalico.org/v3 kind has a typed spec schema', () => {
  assert.ok(calicoCodecs.length >= 20, `only ${calicoCodecs.length} kinds`);
  for (const codec of calicoCodecs) {
    const schema = codec.specSchema;
    assert.ok(schema !== undefined, `${codec.kind} has no spec schema`);
    assert.equal(schema.type, 'object', codec.kind);
    for (const n of nodes(schema)) {
      const typed =
        n.schema.type !== undefined ||
        n.schema['x-kubernetes-int-or-string'] === true ||
        OPEN_ON_PURPOSE.has(`${codec.kind} ${n.path}`);
      assert.ok(typed, `${codec.kind} ${n.path} has no type`);
    }
  }
});

test('every property a schema lists is read by its decoder, and others are refused', () => {
  let checked = 0;
  for (const codec of calicoCodecs) {
    for (const n of nodes(codec.specSchema ?? {})) {
      if (n.steps.length > 0) {
        // Some value the field may not accept: the problem, if any, must not be "unknown field".
        const unknown = issuesFor(codec.kind, specWith(n.steps, { probe: [] })).filter(
          (i) => i.path === n.path && i.message.startsWith('unknown field'),
        );
        assert.deepEqual(unknown, [], `${codec.kind} ${n.path} is in the schema but the decoder refuses it`);
        checked++;
      }
      const closed =
        n.schema.type === 'object' &&
        n.schema.additionalProperties === undefined &&
        n.schema['x-kubernetes-preserve-unknown-fields'] !== true;
      if (closed) {
        const field = `${n.path}.notInTheSchema`;
        const issues = issuesFor(codec.kind, specWith([...n.steps, 'notInTheSchema'], 'x'));
        assert.ok(
          issues.some((i) => i.path === field && i.message.startsWith('unknown field')),
          `${codec.kind} ${field} is not in the schema but the decoder accepts it`,
        );
      }
    }
  }
  assert.ok(checked > 500, `only ${checked} properties checked`);
});

test('string enums in the schemas are exactly what the decoders accept', () => {
  let enums = 0;
  for (const codec of calicoCodecs) {
    for (const n of nodes(codec.specSchema ?? {})) {
      const values = n.schema.enum;
      if (values === undefined || n.steps.length === 0) continue;
      enums++;
      for (const v of values) {
        const refused = issuesFor(codec.kind, specWith(n.steps, v)).filter(
          (i) => i.path === n.path && /must be one of/.test(i.message),
        );
        assert.deepEqual(refused, [], `${codec.kind} ${n.path}: ${String(v)} is in the enum but refused`);
      }
      const bad = n.schema.type === 'integer' ? 99999 : 'NotInTheEnum';
      assert.ok(
        issuesFor(codec.kind, specWith(n.steps, bad)).some((i) => i.path === n.path),
        `${codec.kind} ${n.path}: ${bad} is not in the enum but accepted`,
      );
    }
  }
  assert.ok(enums > 20, `only ${enums} enums checked`);
});
