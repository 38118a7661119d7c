import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../test-support/repo.js';
import { configFromEnv } from '../datastore/index.js';
import { sameDatastore } from './agent-host.js';
import { installCni, parseInstallArgs, sampleConflist, wrapperScript } from './install.js';
import { parseNetConf } from './netconf.js';

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

  it('writes etcd TLS, user, run directory and file paths with the names Calico and the agent use', () => {
    const pki = join(dir, 'pki');
    mkdirSync(pki, { recursive: true });
    for (const f of ['ca.crt', 'node.crt', 'node.key']) writeFileSync(join(pki, f), 'PEM');
    const argv = [
      '--bin-dir',
      join(dir, 'tls-bin'),
      '--conf-dir',
      join(dir, 'tls-net.d'),
      '--etcd-endpoints',
      'https://10.0.0.1:2379,https://10.0.0.2:2379',
      '--etcd-ca-cert-file',
      join(pki, 'ca.crt'),
      '--etcd-cert-file',
      join(pki, 'node.crt'),
      `--etcd-key-file=${join(pki, 'node.key')}`,
      '--etcd-username',
      'calico',
      '--run-dir',
      '/run/calico-n1',
      '--nodename-file',
      '/var/lib/calico-n1/nodename',
      '--mtu-file',
      '/var/lib/calico-n1/mtu',
    ];
    const opts = parseInstallArgs(argv, { ETCD_PASSWORD: 's3cret' });
    const r = installCni({ ...opts, distDir });
    const conflist = readFileSync(r.conflist ?? '', 'utf8');
    assert.equal(statSync(r.conflist ?? '').mode & 0o777, 0o600, 'a password in it: root only');
    const plugin = (JSON.parse(conflist) as { plugins: Record<string, unknown>[] }).plugins[0] ?? {};
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(plugin).filter(([k]) =>
          /^(etcd_|datastore_|ipam_lock|endpoint_status|nodename_file|mtu)/.test(k),
        ),
      ),
      {
        datastore_type: 'etcdv3',
        etcd_endpoints: 'https://10.0.0.1:2379,https://10.0.0.2:2379',
        etcd_ca_cert_file: join(pki, 'ca.crt'),
        etcd_cert_file: join(pki, 'node.crt'),
        etcd_key_file: join(pki, 'node.key'),
        etcd_username: 'calico',
        etcd_password: 's3cret',
        nodename_file: '/var/lib/calico-n1/nodename',
        mtu: 0,
        mtu_file: '/var/lib/calico-n1/mtu',
        ipam_lock_file: '/run/calico-n1/ipam.lock',
        endpoint_status_dir: '/run/calico-n1/endpoint-status',
      },
    );
    assert.match(
      readFileSync(join(dir, 'tls-bin', 'calico'), 'utf8'),
      /^default_socket='\/run\/calico-n1\/cni\.sock'$/m,
    );
    // The plugin reads exactly the datastore the agent's ETCD_* variables give it: the agent serves it.
    const netconf = parseNetConf(
      JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', ...plugin }),
      {},
    );
    assert.ok(netconf.ok);
    const agent = configFromEnv({
      ETCD_ENDPOINTS: 'https://10.0.0.1:2379,https://10.0.0.2:2379',
      ETCD_CA_CERT_FILE: join(pki, 'ca.crt'),
      ETCD_CERT_FILE: join(pki, 'node.crt'),
      ETCD_KEY_FILE: join(pki, 'node.key'),
      ETCD_USERNAME: 'calico',
      ETCD_PASSWORD: 's3cret',
    });
    assert.ok(agent.ok);
    assert.ok(sameDatastore(netconf.value.datastore, agent.value));
    // Without a password the conflist is 0644.
    const plain = installCni({
      ...parseInstallArgs(['--conf-dir', join(dir, 'plain-net.d'), '--bin-dir', join(dir, 'plain-bin')]),
      distDir,
    });
    assert.equal(statSync(plain.conflist ?? '').mode & 0o777, 0o644);
  });

  it('refuses inconsistent options, naming every problem, and writes nothing', () => {
    const target = join(dir, 'bad-net.d');
    const argv = [
      '--conf-dir',
      target,
      '--bin-dir',
      join(dir, 'bad-bin'),
      '--datastore-path',
      '/var/lib/calico/calico.db',
      '--etcd-endpoints',
      'https://10.0.0.1:2379',
      '--etcd-cert-file',
      join(dir, 'missing.crt'),
      '--etcd-password',
      'x',
    ];
    assert.throws(
      () => installCni({ ...parseInstallArgs(argv), distDir }),
      (e: unknown) => {
        const m = e instanceof Error ? e.message : '';
        for (const want of [
          '--datastore-path and the etcd options exclude each other',
          '--etcd-cert-file and --etcd-key-file go together',
          'a client certificate (--etcd-cert-file) needs --etcd-ca-cert-file',
          '--etcd-password needs --etcd-username',
          `--etcd-cert-file: cannot read ${join(dir, 'missing.crt')}`,
        ])
          assert.ok(m.includes(want), `${want} in: ${m}`);
        return true;
      },
    );
    assert.throws(
      () => installCni({ ...parseInstallArgs(['--conf-dir', target, '--etcd-username', 'u']), distDir }),
      /--etcd-username needs --etcd-endpoints or --etcd-discovery-srv/,
    );
    assert.throws(
      () =>
        installCni({ ...parseInstallArgs(['--conf-dir', target, '--etcd-endpoints', 'ftp://x']), distDir }),
      /invalid etcd endpoint/,
    );
    assert.equal(existsSync(target), false);
    assert.equal(existsSync(join(dir, 'bad-bin')), false);
    assert.throws(() => parseInstallArgs(['--etcd-tls']), /usage: install-cni/);
  });

  it('scripts/install-cni.sh takes the options and exits 1 with the problems', { skip: built }, () => {
    const script = join(repoRoot(), 'scripts', 'install-cni.sh');
    const netd = join(dir, 'sh-net.d');
    execFileSync(
      'bash',
      [script, '--bin-dir', join(dir, 'sh-bin'), '--conf-dir', netd, '--run-dir', '/run/x'],
      {
        env: { PATH: process.env.PATH ?? '' },
      },
    );
    assert.deepEqual(readdirSync(netd), ['10-calico.conflist']);
    assert.throws(
      () =>
        execFileSync('bash', [script, '--conf-dir', netd, '--etcd-key-file', '/nonexistent'], {
          env: { PATH: process.env.PATH ?? '' },
          stdio: 'pipe',
        }),
      (e: unknown) => {
        const err = e as { status: number; stderr: Buffer };
        return err.status === 1 && /install-cni: .*--etcd-key-file/.test(err.stderr.toString());
      },
    );
  });
});
