import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Credentials } from './credentials.js';
import { inClusterConfig, loadKubeconfigFile, parseKubeconfig } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-kubeconfig-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(cluster: string, user: string, extra = ''): string {
  return `apiVersion: v1
kind: Config
current-context: lab
contexts:
- name: other
  context: { cluster: nowhere, user: nobody }
- name: lab
  context: { cluster: lab, user: admin${extra} }
clusters:
- name: lab
  cluster:
${cluster}
users:
- name: admin
  user:
${user}
`;
}

describe('kubeconfig files', () => {
  test('the current context picks cluster and user; -data fields are base64, files relative to the file', () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA-PEM');
    writeFileSync(join(dir, 'tok'), 'abc\n');
    const path = join(dir, 'config');
    writeFileSync(
      path,
      kubeconfig(
        '    server: https://127.0.0.1:6443/\n    certificate-authority: ca.crt\n    tls-server-name: kubernetes',
        `    client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}\n    tokenFile: tok`,
        ', namespace: prod',
      ),
    );
    const c = loadKubeconfigFile(path);
    assert.equal(c.server, 'https://127.0.0.1:6443');
    assert.equal(c.ca?.toString(), 'CA-PEM');
    assert.equal(c.cert?.toString(), 'CERT');
    assert.equal(c.key?.toString(), 'KEY');
    assert.equal(c.tokenFile, join(dir, 'tok'));
    assert.equal(c.tlsServerName, 'kubernetes');
    assert.equal(c.namespace, 'prod');
    assert.equal(c.insecureSkipTLSVerify, false);
  });

  test('problems name the file and the field', () => {
    const bad: [string, RegExp][] = [
      ['kind: Config\n', /k: current-context: not set/],
      [
        kubeconfig('    server: https://x', '    token: t').replace(
          'cluster: lab, user',
          'cluster: gone, user',
        ),
        /clusters: no entry named "gone"/,
      ],
      [
        kubeconfig('    insecure-skip-tls-verify: true', '    token: t'),
        /clusters\[lab\]\.cluster\.server: not set/,
      ],
      [
        kubeconfig('    server: https://x\n    proxy-url: http://p', '    token: t'),
        /proxy-url: is not supported/,
      ],
      [
        kubeconfig('    server: https://x', '    auth-provider: { name: gcp }'),
        /auth-provider: is not supported/,
      ],
      [
        kubeconfig('    server: https://x', '    client-certificate: missing.crt'),
        /client-certificate: cannot read/,
      ],
      [kubeconfig('    server: https://x', '    exec: { args: [a] }'), /exec\.command: is required/],
      ['[1, 2', /not YAML/],
    ];
    for (const [text, re] of bad) {
      assert.throws(
        () => parseKubeconfig(text, join(dir, 'k')),
        (e: Error) => e.message.startsWith(`kubeconfig ${join(dir, 'k')}: `) && re.test(e.message),
        text,
      );
    }
  });

  test('in-cluster: the service environment and the service account files; absent outside a pod', () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'token'), 'T');
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    const c = inClusterConfig(env, sa);
    assert.ok(c !== undefined);
    assert.equal(c.server, 'https://[fd00::1]:443');
    assert.equal(c.tokenFile, join(sa, 'token'));
    assert.equal(c.ca?.toString(), 'CA');
    assert.equal(inClusterConfig({}, sa), undefined);
    assert.equal(inClusterConfig(env, join(dir, 'no-such-dir')), undefined);
  });
});

describe('credentials', () => {
  const base = { source: 'k', server: 'https://x', insecureSkipTLSVerify: false } as const;

  test('a token file is read again after a minute', async () => {
    const file = join(dir, 'rotating');
    writeFileSync(file, 'one\n');
    let now = 0;
    const creds = new Credentials({ ...base, tokenFile: file }, () => now);
    assert.equal((await creds.current()).authorization, 'Bearer one');
    writeFileSync(file, 'two\n');
    now = 59_000;
    assert.equal((await creds.current()).authorization, 'Bearer one');
    now = 61_000;
    assert.equal((await creds.current()).authorization, 'Bearer two');
  });

  test('basic auth and a fixed token', async () => {
    const basic = await new Credentials({ ...base, basic: { username: 'u', password: 'p' } }).current();
    assert.equal(basic.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal((await new Credentials({ ...base, token: 't' }).current()).authorization, 'Bearer t');
  });

  test('an exec plugin gets KUBERNETES_EXEC_INFO and its env; its credential is kept until it expires', async () => {
    const script = join(dir, 'plugin.sh');
    const runs = join(dir, 'plugin-runs');
    writeFileSync(runs, '');
    writeFileSync(
      script,
      `#!/bin/sh
echo run >> "${runs}"
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) echo "no exec info" >&2; exit 3 ;; esac
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"2030-01-01T00:00:00Z"}}' "$1" "$FLAVOUR"
`,
    );
    chmodSync(script, 0o755);
    let now = Date.parse('2029-12-31T23:00:00Z');
    const exec = { command: script, args: ['tok'], env: [{ name: 'FLAVOUR', value: 'x' }], apiVersion: 'v1' };
    const creds = new Credentials({ ...base, exec }, () => now);
    assert.equal((await creds.current()).authorization, 'Bearer tok-x');
    assert.equal((await creds.current()).authorization, 'Bearer tok-x');
    assert.equal(readFileSync(runs, 'utf8'), 'run\n');
    now = Date.parse('2030-01-01T00:00:01Z');
    await creds.current();
    assert.equal(readFileSync(runs, 'utf8'), 'run\nrun\n');
  });

  test('an exec plugin that fails or prints no credential is an error naming it', async () => {
    const script = join(dir, 'bad.sh');
    writeFileSync(script, '#!/bin/sh\necho "login required" >&2\nexit 1\n');
    chmodSync(script, 0o755);
    const exec = { command: script, args: [], env: [], apiVersion: 'v1' };
    await assert.rejects(
      new Credentials({ ...base, exec }).current(),
      /exec plugin .*bad\.sh: login required/,
    );
    writeFileSync(script, '#!/bin/sh\necho \'{"status":{}}\'\n');
    await assert.rejects(
      new Credentials({ ...base, exec }).current(),
      /printed neither a token nor a client certificate and key/,
    );
  });
});
