/**
 * The programs that talk to etcd, as processes against an etcd served over TLS on 127.0.0.1 (an IP address,
 * which makes Node print its DEP0123 deprecation warning unless the shared filter in lib/warnings.ts is
 * installed): calico-node's log stream stays JSON lines, and the CNI plugins' stderr stays empty.
 * calicoctl's stderr is checked in cli/calicoctl-process.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installCni } from '../cni/install.js';
import {
  createTestTls,
  etcdSkipReason,
  startTestEtcd,
  type TestEtcd,
  type TestTlsFiles,
} from '../datastore/etcd/test-etcd.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));
const TIMEOUT_MS = 30_000;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(script: string, args: readonly string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe(
  'TLS to etcd by IP address: no Node deprecation warning',
  { skip: etcdSkipReason() ?? false },
  () => {
    let dir = '';
    let tls: TestTlsFiles;
    let etcd: TestEtcd;
    let binDir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'calts-tlswarn-'));
      binDir = join(dir, 'bin');
      await mkdir(binDir);
      installCni({ binDir, agentSocket: '' });
      tls = await createTestTls(dir);
      etcd = await startTestEtcd({ tls });
    });
    after(async () => {
      await etcd.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('calico-node -startup: every stderr line is a JSON log entry', async () => {
      const r = await run(join(DIST, 'agent', 'main.js'), ['-startup'], {
        NODENAME: 'tls-node',
        DATASTORE_TYPE: 'etcdv3',
        ETCD_ENDPOINTS: etcd.endpoint,
        ETCD_CA_CERT_FILE: tls.caFile,
        ETCD_CERT_FILE: tls.clientCertFile,
        ETCD_KEY_FILE: tls.clientKeyFile,
        CALICO_RUN_DIR: join(dir, 'run'),
        CALICO_NODENAME_FILE: join(dir, 'nodename'),
        CALICO_NETWORKING_BACKEND: 'none',
        IP: 'none',
        IP6: 'none',
      });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.ok(lines.length > 0, 'the agent logged something');
      for (const line of lines) {
        assert.doesNotThrow(() => JSON.parse(line) as unknown, `not a JSON log line: ${line}`);
      }
      assert.doesNotMatch(r.stderr, /DEP0123|DeprecationWarning/);
    });

    for (const plugin of ['calico', 'calico-ipam'] as const) {
      it(`${plugin} DEL: success, nothing on stderr`, async () => {
        const netconf = {
          cniVersion: '1.0.0',
          name: 'k8s-pod-network',
          type: plugin,
          datastore_type: 'etcdv3',
          etcd_endpoints: etcd.endpoint,
          etcd_ca_cert_file: tls.caFile,
          etcd_cert_file: tls.clientCertFile,
          etcd_key_file: tls.clientKeyFile,
          log_file_path: join(dir, `${plugin}.log`),
          nodename: 'tls-node',
          ipam: { type: 'calico-ipam' },
          ipam_lock_file: join(dir, `${plugin}-ipam.lock`),
        };
        const r = await run(
          join(DIST, 'cni', `${plugin}.js`),
          [],
          {
            CNI_COMMAND: 'DEL',
            CNI_CONTAINERID: 'tls0001',
            CNI_NETNS: '',
            CNI_IFNAME: 'eth0',
            CNI_PATH: binDir,
            CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=tls-pod',
          },
          JSON.stringify(netconf),
        );
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        assert.equal(r.stderr, '');
      });
    }
  },
);
