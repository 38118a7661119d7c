import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flagSet, parseFlags, thresholdMs, usageText } from './flags.js';

describe("calico-node's flags (Go's flag package rules)", () => {
  it('takes -name, --name, -name=value and -name value for non-boolean flags', () => {
    const r = parseFlags(['--felix-ready', '-bird-ready=true', '-threshold-time', '5s', '-flows=-1']);
    assert.ok(r.kind === 'ok');
    assert.ok(flagSet(r.values, 'felix-ready') && flagSet(r.values, 'bird-ready'));
    assert.equal(thresholdMs(r.values), 5000);
    assert.equal(r.values.flows, '-1');
    assert.equal(thresholdMs({}), 30_000);
    const off = parseFlags(['-felix=false']);
    assert.ok(off.kind === 'ok' && !flagSet(off.values, 'felix'));
  });

  it('stops at the first argument that is not a flag, and after --', () => {
    const r = parseFlags(['-v', 'extra', '-felix']);
    assert.ok(r.kind === 'ok');
    assert.deepEqual(r.args, ['extra', '-felix']);
    const d = parseFlags(['--', '-felix']);
    assert.ok(d.kind === 'ok' && d.args[0] === '-felix' && !flagSet(d.values, 'felix'));
  });

  it('answers -h, -help and --help with the usage', () => {
    for (const h of ['-h', '-help', '--help']) assert.equal(parseFlags([h]).kind, 'help', h);
  });

  it("rejects unknown flags and bad values with Go's messages", () => {
    const cases: [string[], string][] = [
      [['-nope'], 'flag provided but not defined: -nope'],
      [['--startup', '--nope=1'], 'flag provided but not defined: -nope'],
      [['-felix=maybe'], 'invalid boolean value "maybe" for -felix: parse error'],
      [['-threshold-time', 'soon'], 'invalid value "soon" for flag -threshold-time: parse error'],
      [['-flows', 'x'], 'invalid value "x" for flag -flows: parse error'],
      [['-confd-confdir'], 'flag needs an argument: -confd-confdir'],
      [['---felix'], 'bad flag syntax: ---felix'],
    ];
    for (const [argv, message] of cases) {
      const r = parseFlags(argv);
      assert.ok(r.kind === 'error', argv.join(' '));
      assert.equal(r.error, message);
      assert.ok(r.usage.startsWith('Usage of Calico:\n'));
    }
  });

  it('prints the usage as Go prints it: sorted, types and non-zero defaults shown', () => {
    const u = usageText();
    const names = [...u.matchAll(/^ {2}-(\S+)/gm)].map((m) => m[1] ?? '');
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes('felix-ready') && names.includes('bird6-live') && names.includes('startup'));
    assert.match(u, /\n {2}-v\tDisplay version\n/);
    assert.match(
      u,
      /\n {2}-threshold-time duration\n {4}\tThreshold time for bird readiness \(default 30s\)\n/,
    );
    assert.match(
      u,
      /\n {2}-confd-confdir string\n {4}\tConfd configuration directory\. \(default "\/etc\/calico\/confd"\)\n/,
    );
    assert.match(
      u,
      /\n {2}-flows int\n {4}\tFetch a number of Flows\. Use a negative value to watch forever\.\n/,
    );
  });
});
