import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PortRangeMsg, RuleMsg } from '../../calc/messages.js';
import { EMPTY_RULE } from '../../calc/testing.js';
import { classify } from './dispatch.js';

const BASE: RuleMsg = EMPTY_RULE;

/** A small deterministic PRNG (mulberry32), so a failure names its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomRule(r: () => number, index: number): RuleMsg {
  const protos = [undefined, 6, 17, 1];
  const protocol = protos[Math.floor(r() * protos.length)];
  const ports: PortRangeMsg[] = [];
  if ((protocol === 6 || protocol === 17) && r() < 0.7) {
    for (let k = Math.floor(r() * 3) + 1; k > 0; k--) {
      const first = 1 + Math.floor(r() * 40);
      ports.push({ first, last: first + Math.floor(r() * 3) });
    }
  }
  const notProtocol = protocol === undefined && r() < 0.2 ? 17 : undefined;
  return {
    ...BASE,
    index,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(notProtocol !== undefined ? { notProtocol } : {}),
    dstPorts: ports,
  };
}

/** Could this rule match a packet of this protocol and destination port (ignoring everything else)? */
function couldMatch(rule: RuleMsg, proto: number, port: number): boolean {
  if (rule.protocol !== undefined && rule.protocol !== proto) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === proto) return false;
  if (rule.dstPorts.length > 0 && !rule.dstPorts.some((p) => p.first <= port && port <= p.last)) return false;
  return true;
}

/** The rules a packet walks in the classified form. */
function walk(
  rules: readonly RuleMsg[],
  c: ReturnType<typeof classify<RuleMsg>>,
  proto: number,
  port: number,
) {
  const bucket = c.byProtocol.get(proto);
  if (bucket === undefined) return c.other;
  const hit = bucket.ports.find((p) => p.first <= port && port <= p.last);
  return bucket.leaves[hit?.leaf ?? 0] ?? [];
}

describe('classify: every packet walks exactly the rules that can match it, in order', () => {
  for (const maxLeaves of [4096, 3]) {
    it(maxLeaves === 3 ? 'with the coarse fallback (few leaves allowed)' : 'with per-port leaves', () => {
      for (let seed = 1; seed <= 200; seed++) {
        const r = rng(seed);
        const rules = Array.from({ length: 1 + Math.floor(r() * 30) }, (_, i) => randomRule(r, i));
        const c = classify(rules, (x) => x, maxLeaves);
        for (const proto of [6, 17, 1, 47]) {
          for (let port = 0; port <= 45; port++) {
            const want = rules.filter((x) => couldMatch(x, proto, port));
            const got = walk(rules, c, proto, port).filter((x) => couldMatch(x, proto, port));
            assert.deepEqual(
              got.map((x) => x.index),
              want.map((x) => x.index),
              `seed ${seed}, protocol ${proto}, port ${port}`,
            );
          }
        }
      }
    });
  }
});
