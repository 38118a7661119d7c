import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IP_SERVERNAME_WARNING, suppressIpServernameWarning } from './warnings.js';

/** The warnings emitted while `f` runs (process 'warning' events, delivered on the next tick). */
async function warningsDuring(f: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }): void => {
    seen.push(w.code ?? w.message);
  };
  process.on('warning', listener);
  try {
    f();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('the DEP0123 filter', () => {
  it('drops DEP0123 in each emitWarning form and lets every other warning through', async () => {
    const before = await warningsDuring(() => {
      process.emitWarning('ip servername', 'DeprecationWarning', 'DEP0123-not-yet');
    });
    assert.deepEqual(before, ['DEP0123-not-yet'], 'warnings are observable here');
    suppressIpServernameWarning();
    suppressIpServernameWarning();
    const seen = await warningsDuring(() => {
      process.emitWarning('ip servername', 'DeprecationWarning', IP_SERVERNAME_WARNING);
      process.emitWarning('ip servername', { type: 'DeprecationWarning', code: IP_SERVERNAME_WARNING });
      process.emitWarning(Object.assign(new Error('ip servername'), { code: IP_SERVERNAME_WARNING }));
      process.emitWarning('something else', 'DeprecationWarning', 'DEP0005');
      process.emitWarning('plain');
    });
    assert.deepEqual(seen, ['DEP0005', 'plain']);
  });
});
