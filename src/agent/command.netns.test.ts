/**
 * calico-node's command line on a real host (a network namespace of the test's own): `--help`, `-v`, a bad
 * flag, an invalid configuration (start-up variables included) and a probe leave nothing behind (no
 * datastore file, no run directory, no nftables table, no route, no link); `-startup` writes the nodename
 * file; a start that fails late (the health port is taken) releases everything it opened and exits,
 * leaving no process behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelTestSkipReason, NetnsScope, runChecked } from '../labkit/netns.js';
import { repoRoot } from '../test-support/repo.js';
import { runner } from './testing.js';

const main = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
const skip = kernelTestSkipReason() || (existsSync(main) ? false : 'dist/src/agent/main.js not built');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs calico-node in `ns`; kills it (and fails) if it has not exited within `timeoutMs`. */
function calicoNode(
  ns: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, main, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`calico-node ${args.join(' ')} still running after ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('calico-node command line on a real host', { skip }, () => {
  const scope = new NetnsScope(runner);
  const dir = mkdtempSync(join(tmpdir(), 'calts-cmd-'));
  let ns = '';
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    NODENAME: 'node1',
    DATASTORE_TYPE: 'embedded',
    CALICO_DATASTORE_PATH: join(dir, 'calico.db'),
    CALICO_RUN_DIR: join(dir, 'run'),
    CALICO_NODENAME_FILE: join(dir, 'lib', 'nodename'),
    CALICO_MTU_FILE: join(dir, 'lib', 'mtu'),
    CALICO_NETWORKING_BACKEND: 'none',
    ...extra,
  });
  const hostState = async (): Promise<string> =>
    [
      await runChecked(runner, 'ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']),
      await runChecked(runner, 'ip', ['-n', ns, 'route', 'show', 'table', 'all']),
      await runChecked(runner, 'ip', ['-n', ns, '-o', 'link']),
    ].join('\n--\n');

  before(async () => {
    ns = await scope.namespace();
    await runChecked(runner, 'ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  after(async () => {
    await scope[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help, -v, a bad flag, an invalid configuration and a probe touch nothing', async () => {
    const before = await hostState();
    const cases: { args: string[]; extra?: Record<string, string>; code: number; out: RegExp }[] = [
      { args: ['--help'], code: 1, out: /Usage of Calico:\n {2}-allocate-tunnel-addrs\n/ },
      { args: ['-h'], code: 1, out: /flag: help requested/ },
      { args: ['-v'], code: 0, out: /^Version: / },
      { args: ['--nope'], code: 1, out: /flag provided but not defined: -nope/ },
      { args: ['-felix', 'extra'], code: 1, out: /unexpected argument "extra"/ },
      { args: ['-felix', '-startup'], code: 1, out: /More than one incompatible argument provided/ },
      { args: ['-init'], code: 1, out: /-init is not supported by calico-ts/ },
      {
        args: ['-allocate-tunnel-addrs'],
        code: 1,
        out: /-allocate-tunnel-addrs is not supported by calico-ts/,
      },
      {
        args: ['-threshold-time', '5s'],
        code: 1,
        out: /^No valid options provided\. Usage:\n {2}-allocate-tunnel-addrs\n/,
      },
      {
        args: [],
        extra: { FELIX_HEALTHPORT: 'ninety' },
        code: 2,
        out: /FELIX_HEALTHPORT: invalid integer .*ninety/,
      },
      {
        args: ['-felix'],
        extra: { FELIX_DEFAULTENDPOINTTOHOSTACTION: 'Maybe' },
        code: 2,
        out: /FELIX_DEFAULTENDPOINTTOHOSTACTION/,
      },
      { args: [], extra: { DATASTORE_TYPE: 'bogus' }, code: 2, out: /invalid configuration/ },
      { args: [], extra: { IP: 'fd00::1' }, code: 2, out: /IP: invalid IPv4/ },
      {
        args: [],
        extra: { CALICO_IPV4POOL_CIDR: '10.0.0.1/16' },
        code: 2,
        out: /"invalid configuration".*CALICO_IPV4POOL_CIDR: .*strictly masked/,
      },
      {
        args: ['-startup'],
        extra: {
          CALICO_IPV4POOL_VXLAN: 'sometimes',
          CALICO_IPV6POOL_CIDR: 'fd00::/48',
          CALICO_IPV6POOL_BLOCK_SIZE: '64',
        },
        code: 2,
        out: /CALICO_IPV4POOL_VXLAN: invalid value .*sometimes.*; CALICO_IPV6POOL_BLOCK_SIZE: /,
      },
      { args: [], extra: { NODENAME: 'Node_1' }, code: 2, out: /NODENAME: invalid node name .*Node_1/ },
      {
        args: ['-felix-ready', '-threshold-time=2s'],
        code: 1,
        out: /calico\/node is not ready: felix is not ready: .*ECONNREFUSED/,
      },
    ];
    for (const c of cases) {
      const r = await calicoNode(ns, c.args, env(c.extra));
      assert.equal(r.code, c.code, `${c.args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(`${r.stdout}${r.stderr}`, c.out, c.args.join(' '));
      assert.deepEqual(readdirSync(dir), [], `${c.args.join(' ')} created files`);
    }
    assert.equal(await hostState(), before, 'nothing changed in the namespace');
  });

  it('-startup runs the start-up routine once and exits, programming nothing', async () => {
    const before = await hostState();
    const r = await calicoNode(ns, ['-startup'], env({ IP: '192.0.2.10/24' }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /"msg":"node registered","node":"node1","ipv4":"192\.0\.2\.10\/24"/);
    const t = await calicoNode(ns, ['-allocate-tunnel-addrs', '-allocate-tunnel-addrs-run-once'], env());
    assert.equal(t.code, 0, t.stderr);
    assert.equal(await hostState(), before, 'no table, route or link');
    assert.equal(existsSync(join(dir, 'run')), false, 'no run directory');
    assert.equal(readFileSync(join(dir, 'lib', 'nodename'), 'utf8'), 'node1', 'the nodename file');
    rmSync(join(dir, 'lib'), { recursive: true, force: true });
    rmSync(join(dir, 'calico.db'), { force: true });
  });

  it('a start that fails late (health port taken) releases everything and exits', async () => {
    const taken = await scope.listen(ns, { protocol: 'tcp', address: '127.0.0.1', port: 9099 });
    const pidsBefore = (await runChecked(runner, 'ip', ['netns', 'pids', ns])).trim().split('\n').sort();
    const r = await calicoNode(ns, [], env({ FELIX_HEALTHENABLED: 'true', FELIX_HEALTHHOST: '127.0.0.1' }));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /EADDRINUSE/);
    // It got as far as the datastore and node startup before the failing step.
    assert.ok(existsSync(join(dir, 'calico.db')));
    const pidsAfter = (await runChecked(runner, 'ip', ['netns', 'pids', ns])).trim().split('\n').sort();
    assert.deepEqual(pidsAfter, pidsBefore, 'no helper process (spawner) left in the namespace');
    assert.equal(existsSync(join(dir, 'run', 'status.json')), false);
    await taken.stop();
  });
});
