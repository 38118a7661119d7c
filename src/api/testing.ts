/** Test helpers for the resource model: document builders and issue assertions. Used by tests only. */
import assert from 'node:assert/strict';
import type { FieldIssue } from '../lib/errors.js';
import { decodeResource, type Resource } from './decode.js';

export function doc(
  kind: string,
  spec: unknown,
  metadata: Record<string, unknown> = { name: 'p1' },
): unknown {
  return { apiVersion: 'projectcalico.org/v3', kind, metadata, spec };
}

export function gnp(spec: unknown, metadata?: Record<string, unknown>): unknown {
  return doc('GlobalNetworkPolicy', spec, metadata);
}

export function np(
  spec: unknown,
  metadata: Record<string, unknown> = { name: 'p1', namespace: 'ns1' },
): unknown {
  return doc('NetworkPolicy', spec, metadata);
}

/** A GNP with one ingress rule (for rule-level tests). */
export function ingressRule(rule: unknown): unknown {
  return gnp({ ingress: [rule] });
}

export function decodeOk(input: unknown): Resource {
  const r = decodeResource(input);
  if (!r.ok)
    assert.fail(`expected no issues, got:\n${r.error.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  return r.value;
}

export function issuesOf(input: unknown): FieldIssue[] {
  const r = decodeResource(input);
  if (r.ok) assert.fail(`expected issues, but decoded ${JSON.stringify(r.value)}`);
  return r.error;
}

/**
 * Asserts that decoding fails with an issue at exactly `path` whose message contains every fragment
 * (typically the offending value). Returns that issue.
 */
export function expectIssue(input: unknown, path: string, ...fragments: string[]): FieldIssue {
  const issues = issuesOf(input);
  const found = issues.find((i) => i.path === path && fragments.every((f) => i.message.includes(f)));
  if (found === undefined) {
    assert.fail(
      `expected an issue at ${path} mentioning ${JSON.stringify(fragments)}, got:\n` +
        issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'),
    );
  }
  return found;
}
