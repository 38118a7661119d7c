import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CalicoError, DatastoreUnavailableError } from '../lib/errors.js';
import { runPlugin, type CommandContext, type PluginCommands } from './skel.js';
import { CniCode, CniError, SUPPORTED_VERSIONS, type CniResult } from './spec.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-skel-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const logFile = join(dir, 'cni.log');

const result: CniResult = {
  interfaces: [{ name: 'cali1' }],
  ips: [{ address: '10.0.0.1/32' }],
  routes: [],
  dns: {},
};

function fake(overrides: Partial<PluginCommands> = {}): PluginCommands & { calls: string[] } {
  const calls: string[] = [];
  const record = (c: string) => (ctx: CommandContext) => {
    calls.push(`${c}:${ctx.conf.cniVersion}`);
    return Promise.resolve();
  };
  return {
    program: 'calico',
    calls,
    add: (ctx) => {
      calls.push(`ADD:${ctx.conf.cniVersion}`);
      return Promise.resolve(result);
    },
    del: record('DEL'),
    check: record('CHECK'),
    gc: record('GC'),
    status: record('STATUS'),
    test: () => Promise.resolve(),
    ...overrides,
  };
}

const env = (command: string) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/p',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
});

const conf = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: 'net', type: 'calico', log_file_path: logFile, ...extra });

describe('plugin frame', () => {
  it('answers VERSION with every supported version', async () => {
    const out = await runPlugin(fake(), {
      env: { CNI_COMMAND: 'VERSION' },
      argv: [],
      stdin: '{"cniVersion":"0.4.0"}',
    });
    assert.equal(out.exitCode, 0);
    assert.deepEqual(JSON.parse(out.stdout), {
      cniVersion: '0.4.0',
      supportedVersions: [...SUPPORTED_VERSIONS],
    });
  });

  it('defaults a missing cniVersion to 0.2.0 and encodes the result for it', async () => {
    const cmds = fake();
    const out = await runPlugin(cmds, { env: env('ADD'), argv: [], stdin: conf() });
    assert.equal(out.exitCode, 0);
    assert.deepEqual(cmds.calls, ['ADD:0.2.0']);
    assert.deepEqual(JSON.parse(out.stdout), { cniVersion: '0.2.0', ip4: { ip: '10.0.0.1/32' }, dns: {} });
  });

  it('rejects versions above 1.1.0 with code 1, echoing the config version', async () => {
    const cmds = fake();
    const out = await runPlugin(cmds, { env: env('ADD'), argv: [], stdin: conf({ cniVersion: '1.2.0' }) });
    assert.equal(out.exitCode, 1);
    const e = JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string };
    assert.deepEqual([e.cniVersion, e.code, e.msg], ['1.2.0', 1, 'incompatible CNI versions']);
    assert.deepEqual(cmds.calls, []);
  });

  it('refuses CHECK before 0.4.0 and GC / STATUS before 1.1.0', async () => {
    for (const [cmd, v] of [
      ['CHECK', '0.3.1'],
      ['GC', '1.0.0'],
      ['STATUS', '1.0.0'],
    ] as const) {
      const out = await runPlugin(fake(), { env: env(cmd), argv: [], stdin: conf({ cniVersion: v }) });
      assert.equal(out.exitCode, 1, cmd);
      assert.equal((JSON.parse(out.stdout) as { code: number }).code, CniCode.incompatibleVersion);
    }
    const ok = await runPlugin(fake(), { env: env('GC'), argv: [], stdin: conf({ cniVersion: '1.1.0' }) });
    assert.deepEqual(ok, { stdout: '', exitCode: 0 });
  });

  it('turns failures into one error object without a stack trace', async () => {
    const boom = fake({
      add: () => Promise.reject(new Error('kaboom')),
      del: () => Promise.reject(new DatastoreUnavailableError('connection refused')),
      check: () => Promise.reject(new CniError(CniCode.ioFailure, 'disk', 'details here')),
      status: () => Promise.reject(new CalicoError('CALICO_ERR_BUG', 'oops')),
    });
    const cases: [string, number][] = [
      ['ADD', 999],
      ['DEL', 11],
      ['CHECK', 5],
      ['STATUS', 999],
    ];
    for (const [cmd, code] of cases) {
      const out = await runPlugin(boom, { env: env(cmd), argv: [], stdin: conf({ cniVersion: '1.1.0' }) });
      assert.equal(out.exitCode, 1);
      assert.equal(out.stdout.trim().split('\n').length, 1);
      const e = JSON.parse(out.stdout) as { code: number; msg: string };
      assert.equal(e.code, code, cmd);
      assert.doesNotMatch(out.stdout, /at .*\.js:\d+/);
    }
    assert.match(readFileSync(logFile, 'utf8'), /\[ERROR\].*kaboom/);
  });

  it('reports environment and decoding problems before running anything', async () => {
    const noCmd = await runPlugin(fake(), { env: {}, argv: [], stdin: conf() });
    assert.equal((JSON.parse(noCmd.stdout) as { code: number }).code, CniCode.invalidEnvironment);
    const badJson = await runPlugin(fake(), { env: env('ADD'), argv: [], stdin: '{oops' });
    assert.equal((JSON.parse(badJson.stdout) as { code: number }).code, CniCode.decodingFailure);
    const version = await runPlugin(fake(), { env: {}, argv: ['-v'], stdin: '' });
    assert.match(version.stdout, /^v\d/);
  });
});
