/**
 * Golden-file assertions for tests: `expectGolden(path, actual)` compares text with the file at `path`, and
 * with `UPDATE_GOLDEN=1` in the environment (re)writes the file instead. A mismatch fails with the file
 * path, the first differing line and a short context diff, and says how to update.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const CONTEXT = 3;
const MAX_DIFF_LINES = 40;

export function updatingGoldens(): boolean {
  return process.env['UPDATE_GOLDEN'] === '1';
}

/** A small line diff around the first difference (`-` expected, `+` actual). */
export function describeDifference(expected: string, actual: string): string {
  const e = expected.split('\n');
  const a = actual.split('\n');
  let first = 0;
  while (first < e.length && first < a.length && e[first] === a[first]) first++;
  let endE = e.length;
  let endA = a.length;
  while (endE > first && endA > first && e[endE - 1] === a[endA - 1]) {
    endE--;
    endA--;
  }
  const out = [`first difference at line ${first + 1}`];
  for (let i = Math.max(0, first - CONTEXT); i < first; i++) out.push(`  ${e[i] ?? ''}`);
  const removed = e.slice(first, endE).map((l) => `- ${l}`);
  const added = a.slice(first, endA).map((l) => `+ ${l}`);
  const body = [...removed, ...added];
  out.push(...body.slice(0, MAX_DIFF_LINES));
  if (body.length > MAX_DIFF_LINES) out.push(`... (${body.length - MAX_DIFF_LINES} more changed lines)`);
  for (let i = endE; i < Math.min(e.length, endE + CONTEXT); i++) out.push(`  ${e[i] ?? ''}`);
  return out.join('\n');
}

export function expectGolden(path: string, actual: string): void {
  if (updatingGoldens()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    assert.fail(`golden file ${path} does not exist; run the test with UPDATE_GOLDEN=1 to create it`);
  }
  const expected = readFileSync(path, 'utf8');
  if (expected !== actual) {
    assert.fail(
      `output differs from golden file ${path}\n${describeDifference(expected, actual)}\n` +
        'If the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.',
    );
  }
}
