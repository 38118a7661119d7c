import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, parseBirdLogLine } from './bird-log.js';

describe('parseBirdLogLine', () => {
  it('takes the level from BIRD class and drops its timestamp', () => {
    const cases: [string, string, string | undefined, string][] = [
      ['2026-01-02 03:04:05.678 <TRACE> kernel4: Initializing', 'info', 'TRACE', 'kernel4: Initializing'],
      ['2026-01-02 03:04:05.678 <INFO> Reconfigured', 'info', 'INFO', 'Reconfigured'],
      ['2026-01-02 03:04:05 <DBG> x', 'debug', 'DBG', 'x'],
      [
        '2026-01-02 03:04:05.678 <RMT> Mesh_1: Received: Hold timer expired',
        'warn',
        'RMT',
        'Mesh_1: Received: Hold timer expired',
      ],
      ['2026-01-02 03:04:05.678 <WARN> w', 'warn', 'WARN', 'w'],
      ['2026-01-02 03:04:05.678 <ERR> e', 'error', 'ERR', 'e'],
      ['2026-01-02 03:04:05.678 <AUTH> a', 'error', 'AUTH', 'a'],
      ['2026-01-02 03:04:05.678 <FATAL> f', 'error', 'FATAL', 'f'],
      ['2026-01-02 03:04:05.678 <FATAL> Shutdown completed', 'info', 'FATAL', 'Shutdown completed'],
      ['2026-01-02 03:04:05.678 <BUG> b', 'error', 'BUG', 'b'],
      ['bird: /etc/bird.cfg:3:1 syntax error', 'warn', undefined, '/etc/bird.cfg:3:1 syntax error'],
    ];
    for (const [line, level, birdClass, msg] of cases)
      assert.deepEqual(parseBirdLogLine(line), { level, birdClass, msg }, line);
  });
});

describe('LineSplitter', () => {
  it('splits chunks into lines whatever the chunk boundaries, without \\r', () => {
    const s = new LineSplitter(100);
    assert.deepEqual(s.push('one\ntw'), ['one']);
    assert.deepEqual(s.push('o\r\nthr'), ['two']);
    assert.deepEqual(s.push('ee'), []);
    assert.deepEqual(s.flush(), ['three']);
    assert.deepEqual(s.flush(), []);
  });

  it('bounds line length: cuts, marks, and drops the rest of that line only', () => {
    const s = new LineSplitter(5);
    assert.deepEqual(s.push('abcdefgh'), ['abcde [line truncated]']);
    assert.deepEqual(s.push('ijk\nok\n'), ['ok']);
    assert.deepEqual(s.push(`${'x'.repeat(12)}\n`), ['xxxxx [line truncated]']);
    assert.deepEqual(s.push('12345\n'), ['12345']);
    assert.deepEqual(s.flush(), []);
  });
});
