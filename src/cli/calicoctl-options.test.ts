/**
 * calicoctl's command line as Calico parses it: top-level options before the command, group help, the
 * one-line "Invalid option" answer, and read-only commands that never create the embedded datastore.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMULATED_CALICO_VERSION } from './build-info.js';
import { calicoctl } from './testing.js';

let dir = '';
let env: Record<string, string> = {};
let store = '';

const INVALID = (args: string): string =>
  `Invalid option: 'calicoctl ${args}'. Use flag '--help' to read about a specific subcommand.\n`;

describe('calicoctl command line', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calicoctl-options-'));
    store = join(dir, 'var', 'lib', 'calico');
    env = { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: join(store, 'calico.db') };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the top-level options before the command, as Calico does', async () => {
    for (const args of [
      ['-l', 'debug', 'get', 'gnp'],
      ['-ldebug', 'get', 'gnp'],
      ['--log-level=info', 'get', 'gnp'],
      ['--log-level', 'warning', 'get', 'gnp'],
      ['--context', 'kind-dev', 'get', 'gnp'],
      ['--context=kind-dev', '--allow-version-mismatch', 'get', 'gnp'],
      ['--allow', 'get', 'gnp'],
    ]) {
      const r = await calicoctl(args, { env });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, 'NAME   TIER   \n\n', args.join(' '));
    }
    const bad = await calicoctl(['--log-level', 'loud', 'get', 'gnp'], { env });
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr,
      'Unknown log level: loud, expected one of: \npanic, fatal, error, warn, info, debug.\n',
    );
  });

  it('answers a command line that does not parse with one Invalid option line and status 1', async () => {
    for (const [args, quoted] of [
      [['get', 'gnp', '--bogus'], 'get gnp --bogus'],
      [['--bogus', 'get', 'gnp'], '--bogus get gnp'],
      [['-l', 'debug', 'apply', '--filename'], 'apply --filename'],
      [['bogus'], 'bogus'],
      [['ipam', 'bogus'], 'ipam bogus'],
      [['node', 'status', 'extra'], 'node status extra'],
    ] as const) {
      const r = await calicoctl([...args], { env });
      assert.equal(r.status, 1, args.join(' '));
      assert.equal(r.stderr, INVALID(quoted));
      assert.equal(r.stdout, '');
    }
  });

  it('prints the usage of a command group (ipam, node, policy) and of the whole tool', async () => {
    for (const group of ['ipam', 'node', 'policy']) {
      const r = await calicoctl([group, '--help'], { env });
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`^Usage:\\n  calicoctl ${group} <command> \\[<args>\\.\\.\\.\\]\\n`));
      assert.match(r.stdout, new RegExp(`See 'calicoctl ${group} <command> --help'`));
      const bare = await calicoctl([group], { env });
      assert.equal(bare.status, 1);
      assert.equal(bare.stderr, r.stdout);
    }
    assert.match((await calicoctl(['ipam', '-h'], { env })).stdout, /^ {4}show {4}/m);
    const top = await calicoctl(['--help'], { env });
    assert.equal(top.status, 0);
    assert.match(top.stdout, /^ {4}ipam {6}IP address management\.$/m);
    assert.match((await calicoctl(['get', '--help'], { env })).stdout, /^Usage:\n {2}calicoctl get /);
    assert.match((await calicoctl(['-h'], { env })).stdout, /^Usage:\n {2}calicoctl \[options\]/);
  });

  it('read-only commands never create the embedded datastore, and say which one is empty', async () => {
    const hint = `Note: the embedded datastore ${join(store, 'calico.db')} does not exist yet`;
    for (const args of [
      ['get', 'gnp'],
      ['get', 'gnp', 'nope'],
      ['get', 'networkpolicies', '-A', '-o', 'yaml'],
      ['ipam', 'show'],
      ['ipam', 'check'],
      ['delete', 'gnp', 'nope'],
      ['label', 'gnp', 'nope', 'a=b'],
      ['version'],
    ]) {
      const r = await calicoctl(args, { env });
      assert.ok(!existsSync(store), `${args.join(' ')} created ${store}`);
      if (args[0] === 'get' || args[0] === 'version' || (args[0] === 'ipam' && args[1] === 'show')) {
        assert.ok(r.stderr.includes(hint), `${args.join(' ')}: ${r.stderr}`);
      }
    }
    const version = await calicoctl(['version'], { env });
    assert.equal(version.status, 1);
    assert.equal(
      version.stdout.split('\n')[2],
      `Emulates Calico:   ${EMULATED_CALICO_VERSION}`,
      'version states the emulated Calico release',
    );
    // The first write creates it; the hint is then gone.
    const gnp =
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {}\n';
    assert.equal((await calicoctl(['apply', '-f', '-'], { env, stdin: gnp })).status, 0);
    assert.ok(existsSync(join(store, 'calico.db')));
    const listed = await calicoctl(['get', 'gnp'], { env });
    assert.equal(listed.stderr, '');
    const none = await calicoctl(['get', 'tiers', '-o', 'custom-columns=NAME'], { env });
    assert.doesNotMatch(none.stderr, /Note:/);
  });
});
