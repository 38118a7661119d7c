import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CalicoError, DatastoreUnavailableError } from '../lib/errors.js';
import { MAX_CONFIG_BYTES, MAX_JSON_DEPTH } from './decode.js';
import { CALICO_ARG_SCHEMAS } from './invocation.js';
import type { CommandContext, PluginCommands } from './plugin.js';
import { EMULATED_CALICO_VERSION } from '../lib/build-info.js';
import { runPlugin } from './skel.js';
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
    argSchemas: CALICO_ARG_SCHEMAS,
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
    assert.equal(version.stdout, `${EMULATED_CALICO_VERSION}-calico-ts\n`);
  });

  it('answers an absurdly nested or oversized configuration with code 6, running nothing', async () => {
    const cmds = fake();
    const nested = (depth: number): string =>
      conf({ cniVersion: '1.0.0', args: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown });
    // The configuration itself is one level; `args` adds the rest.
    const deepest = await runPlugin(cmds, { env: env('ADD'), argv: [], stdin: nested(MAX_JSON_DEPTH - 1) });
    assert.equal(deepest.exitCode, 0, 'the limit itself is accepted');
    for (const stdin of [
      nested(MAX_JSON_DEPTH),
      `{"cniVersion":"1.0.0","a":${'['.repeat(200_000)}`,
      conf({ cniVersion: '1.0.0', padding: 'x'.repeat(MAX_CONFIG_BYTES) }),
    ]) {
      const out = await runPlugin(cmds, { env: env('ADD'), argv: [], stdin });
      assert.equal(out.exitCode, 1);
      const e = JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string; details: string };
      assert.equal(e.code, CniCode.decodingFailure);
      assert.equal(e.msg, 'failed to decode network configuration');
      assert.match(e.details, /nested deeper than 128 levels|more than 4194304 bytes/);
    }
    // A brace inside a string is not nesting.
    const braces = await runPlugin(cmds, {
      env: env('ADD'),
      argv: [],
      stdin: conf({ note: '['.repeat(1000) + '\\"{' }),
    });
    assert.equal(braces.exitCode, 0);
    assert.deepEqual(cmds.calls, ['ADD:1.0.0', 'ADD:0.2.0']);
  });

  it('refuses malformed CNI_ARGS after the configuration, logging it (code 999, as Calico)', async () => {
    const cmds = fake();
    const bad = { ...env('ADD'), CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME' };
    const out = await runPlugin(cmds, { env: bad, argv: [], stdin: conf({ cniVersion: '1.0.0' }) });
    assert.equal(out.exitCode, 1);
    assert.deepEqual(JSON.parse(out.stdout), {
      cniVersion: '1.0.0',
      code: 999,
      msg: 'ARGS: invalid pair "K8S_POD_NAME"',
    });
    assert.match(readFileSync(logFile, 'utf8'), /\[ERROR\].*cmd=ADD.*ARGS: invalid pair/);
    const badJsonFirst = await runPlugin(cmds, { env: bad, argv: [], stdin: '{oops' });
    assert.equal((JSON.parse(badJsonFirst.stdout) as { code: number }).code, CniCode.decodingFailure);
    const del = await runPlugin(cmds, {
      env: { ...env('DEL'), CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p;K8S_POD_UID=u' },
      argv: [],
      stdin: conf(),
    });
    assert.equal(del.exitCode, 0);
    assert.deepEqual(cmds.calls, ['DEL:0.2.0']);
  });
});
