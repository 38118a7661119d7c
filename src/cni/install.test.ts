import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../test-support/repo.js';
import { installCni, sampleConflist, wrapperScript } from './install.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-install-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const distDir = join(repoRoot(), 'dist', 'src', 'cni');
const built = existsSync(join(distDir, 'calico.js')) ? false : 'dist/ not built (npm run build)';

describe('install command', () => {
  it('writes executable wrappers and a sample conflist', { skip: built }, () => {
    const r = installCni({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), distDir, nodename: 'n1' });
    assert.deepEqual(r.plugins, [join(dir, 'bin', 'calico'), join(dir, 'bin', 'calico-ipam')]);
    for (const p of r.plugins) assert.equal(statSync(p).mode & 0o777, 0o755);
    const calico = readFileSync(join(dir, 'bin', 'calico'), 'utf8');
    assert.match(calico, /^entry='.*\/dist\/src\/cni\/calico\.js'$/m);
    assert.match(calico, /^default_socket='\/var\/run\/calico\/cni\.sock'$/m);
    assert.match(calico, /^exec "\$node" "\$entry" "\$@"$/m);
    assert.match(
      readFileSync(join(dir, 'bin', 'calico-ipam'), 'utf8'),
      /exec '.*node' '.*\/dist\/src\/cni\/calico-ipam\.js' "\$@"/,
    );
    // Without an agent socket both run the plugin itself.
    for (const plugin of ['calico', 'calico-ipam']) {
      const version = execFileSync(join(dir, 'bin', plugin), [], {
        env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH ?? '' },
        input: '{"cniVersion":"1.0.0"}',
      }).toString();
      assert.equal((JSON.parse(version) as { cniVersion: string }).cniVersion, '1.0.0');
    }
    // The socket path: --agent-socket, else <runDir>/cni.sock.
    installCni({ binDir: join(dir, 'bin2'), distDir, agentSocket: '/tmp/x/agent.sock' });
    assert.match(
      readFileSync(join(dir, 'bin2', 'calico'), 'utf8'),
      /^default_socket='\/tmp\/x\/agent\.sock'$/m,
    );
    installCni({ binDir: join(dir, 'bin3'), distDir, runDir: '/run/n1' });
    assert.match(
      readFileSync(join(dir, 'bin3', 'calico'), 'utf8'),
      /^default_socket='\/run\/n1\/cni\.sock'$/m,
    );
    const conflist = JSON.parse(readFileSync(r.conflist ?? '', 'utf8')) as {
      plugins: { type: string; nodename?: string }[];
    };
    assert.deepEqual(
      conflist.plugins.map((p) => p.type),
      ['calico', 'portmap'],
    );
    assert.equal(conflist.plugins[0]?.nodename, 'n1');
  });

  it('renders per-node paths for the lab and quotes the wrapper', () => {
    const c = sampleConflist({
      runDir: '/tmp/n1/run',
      ipamLockFile: '/tmp/n1/ipam.lock',
      etcdEndpoints: 'http://127.0.0.1:2379',
      portmap: false,
    });
    const plugin = (c['plugins'] as Record<string, unknown>[])[0] ?? {};
    assert.equal(plugin['endpoint_status_dir'], '/tmp/n1/run/endpoint-status');
    assert.equal(plugin['ipam_lock_file'], '/tmp/n1/ipam.lock');
    assert.equal(plugin['datastore_type'], 'etcdv3');
    assert.equal((c['plugins'] as unknown[]).length, 1);
    assert.equal(
      wrapperScript("/o'k/node", '/x.js'),
      `#!/bin/sh\n# calico-ts CNI plugin wrapper (written by install-cni)\nexec '/o'\\''k/node' '/x.js' "$@"\n`,
    );
  });
});
