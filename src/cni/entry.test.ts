/**
 * The plugin executables as a runtime runs them, fed what no runtime should send (issue 9): an oversized
 * or absurdly nested network configuration and malformed `CNI_ARGS`. Each answer is one CNI error object on
 * stdout and exit code 1, never a stack trace or a hang; the stdin limit holds without reading it all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../test-support/repo.js';
import { MAX_CONFIG_BYTES } from './decode.js';

const distDir = join(repoRoot(), 'dist', 'src', 'cni');
const skip = existsSync(join(distDir, 'calico.js')) ? false : 'dist/ not built (npm run build)';
const dir = mkdtempSync(join(tmpdir(), 'calts-entry-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a plugin entry point with this environment and stdin (kept open after it when `keepOpen`: the plugin
 * must answer without waiting for the end); killed after 60 s.
 */
function runEntry(
  program: string,
  env: Record<string, string>,
  stdin: string | Buffer,
  keepOpen = false,
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(distDir, `${program}.js`)], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // The plugin stops reading an oversized stdin: the rest of our write fails, which is expected.
    child.stdin.on('error', () => undefined);
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    if (keepOpen) child.stdin.write(stdin);
    else child.stdin.end(stdin);
  });
}

const addEnv = (args = ''): Record<string, string> => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/calts-none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: distDir,
  ...(args === '' ? {} : { CNI_ARGS: args }),
});

const netconf = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'calico',
    nodename: 'n1',
    datastore_type: 'embedded',
    datastore_path: join(dir, 'calico.db'),
    log_file_path: join(dir, 'cni.log'),
    ipam: { type: 'calico-ipam' },
    ...extra,
  });

function errorObject(out: Exit): { cniVersion: string; code: number; msg: string; details?: string } {
  assert.equal(out.code, 1, out.stderr);
  assert.equal(out.stdout.trim().split('\n').length, 1, 'one document on stdout');
  assert.doesNotMatch(out.stdout + out.stderr, /at .*\.js:\d+/, 'no stack trace');
  return JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string; details?: string };
}

describe('plugin executables and bad input', { skip }, () => {
  it('refuse a network configuration larger than the limit (code 6) without reading to its end', async () => {
    const big = Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20);
    for (const program of ['calico', 'calico-ipam']) {
      const e = errorObject(await runEntry(program, addEnv(), big, true));
      assert.equal(e.code, 6, program);
      assert.equal(e.msg, 'failed to decode network configuration');
      assert.equal(e.details, `more than ${MAX_CONFIG_BYTES} bytes`);
    }
  });

  it('refuse a configuration nested a million levels deep (code 6)', async () => {
    const depth = 1_000_000;
    const deep = `{"cniVersion":"1.0.0","name":"n","type":"calico","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const e = errorObject(await runEntry('calico', addEnv(), deep));
    assert.equal(e.code, 6);
    assert.equal(e.cniVersion, '1.1.0', 'the version of a configuration that cannot be read is the latest');
    assert.match(e.details ?? '', /^JSON nested deeper than 128 levels/);
  });

  it('refuse malformed CNI_ARGS with the messages of the reference plugins (code 999)', async () => {
    const cases: [string, string, string][] = [
      ['calico', 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME', 'ARGS: invalid pair "K8S_POD_NAME"'],
      ['calico', 'K8S_POD_NAME=p;FOO=bar', 'ARGS: unknown args ["FOO=bar"]'],
      ['calico-ipam', 'K8S_POD_NAME=p', 'ARGS: unknown args ["K8S_POD_NAME=p"]'],
      [
        'calico-ipam',
        'IgnoreUnknown=1;IP=10.0.0.999',
        'ARGS: error parsing value of pair "IP=10.0.0.999": invalid IP address: 10.0.0.999',
      ],
    ];
    for (const [program, args, msg] of cases) {
      const e = errorObject(await runEntry(program, addEnv(args), netconf()));
      assert.deepEqual(e, { cniVersion: '1.0.0', code: 999, msg }, `${program} ${args}`);
    }
  });
});
