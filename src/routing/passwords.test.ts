import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { computeBgpView } from './model.js';
import { checkPassword } from './peer-options.js';
import { renderBirdConfig } from './render.js';
import { checkSecretRef, DirectorySecretSource, secretFileValue, StaticSecretSource } from './secrets.js';
import { bgpConfig, bgpPeer, node } from './testing.js';
import type { BgpView } from './types.js';

describe('DirectorySecretSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-secrets-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(dir, 'bgp-secrets'));
  writeFileSync(join(dir, 'bgp-secrets', 'tor'), 'tor-pass\n', { mode: 0o600 });
  writeFileSync(join(dir, 'bgp-secrets', 'crlf'), 'a b\r\n');
  writeFileSync(join(dir, 'bgp-secrets', 'inner'), 'two\nlines\n');
  writeFileSync(join(dir, 'outside'), 'not a secret');
  const source = new DirectorySecretSource(dir);

  it('reads <dir>/<secret>/<key>, without one trailing line break', () => {
    assert.deepEqual(source.get('bgp-secrets', 'tor'), { ok: true, value: 'tor-pass' });
    assert.deepEqual(source.get('bgp-secrets', 'crlf'), { ok: true, value: 'a b' });
    assert.deepEqual(source.get('bgp-secrets', 'inner'), { ok: true, value: 'two\nlines' });
    assert.equal(secretFileValue('x\n\n'), 'x\n');
  });

  it("says which secret or key is missing, in Calico's words", () => {
    assert.deepEqual(source.get('other', 'k'), {
      ok: false,
      error: `no data available for secret other (no directory ${join(dir, 'other')})`,
    });
    assert.deepEqual(source.get('bgp-secrets', 'nope'), {
      ok: false,
      error: `secret bgp-secrets does not have key nope (no file ${join(dir, 'bgp-secrets', 'nope')})`,
    });
  });

  it('never leaves the directory: names and keys are checked before use', () => {
    for (const [name, key] of [
      ['..', 'outside'],
      ['bgp-secrets', '..'],
      ['a/b', 'k'],
      ['Upper', 'k'],
      ['', 'k'],
      ['bgp-secrets', 'a/b'],
    ] as const) {
      const r = source.get(name, key);
      assert.ok(!r.ok, `${name}/${key}`);
      assert.equal(r.error, checkSecretRef(name, key));
    }
    assert.equal(checkSecretRef('bgp.secrets-1', 'Key_1.x'), undefined);
  });

  it('follows the symlinks of a mounted Kubernetes secret', () => {
    mkdirSync(join(dir, 'mounted', '..data'), { recursive: true });
    writeFileSync(join(dir, 'mounted', '..data', 'pw'), 'from-k8s');
    symlinkSync('..data/pw', join(dir, 'mounted', 'pw'));
    assert.deepEqual(source.get('mounted', 'pw'), { ok: true, value: 'from-k8s' });
  });
});

describe('BGP password checks', () => {
  it('accepts what BIRD and the kernel can use, and says why not otherwise', () => {
    assert.equal(checkPassword('x'.repeat(80)), undefined);
    assert.match(checkPassword('') ?? '', /empty/);
    assert.match(checkPassword('a"b') ?? '', /BIRD cannot accept/);
    assert.match(checkPassword('a\nb') ?? '', /line break/);
    assert.match(checkPassword('x'.repeat(81)) ?? '', /longer than 80 bytes/);
    // Bytes, not characters: 41 two-byte characters are 82 bytes.
    assert.match(checkPassword('é'.repeat(41)) ?? '', /longer than 80 bytes/);
  });
});

describe('passwords in the BGP view (fail closed)', () => {
  const n1 = node('node1', { ipv4Address: '10.0.0.1/24' });
  const n2 = node('node2', { ipv4Address: '10.0.0.2/24' });
  const n3 = node('node3', { ipv4Address: '10.0.0.3/24' });
  const noMesh = bgpConfig('default', { nodeToNodeMeshEnabled: false });
  const withPassword = (name: string, ip: string, ref: Record<string, unknown>) =>
    bgpPeer(name, { peerIP: ip, asNumber: 65001, password: { secretKeyRef: ref } });

  function view(input: Parameters<typeof computeBgpView>[0]): BgpView {
    const r = computeBgpView(input);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.value;
  }

  it('refuses a peer whose secret cannot be read, and keeps the others', () => {
    const v = view({
      nodeName: 'node1',
      nodes: [n1],
      bgpConfigurations: [noMesh],
      bgpPeers: [
        withPassword('good', '192.0.2.1', { name: 's', key: 'good' }),
        withPassword('bad', '192.0.2.2', { name: 's', key: 'missing' }),
        withPassword('quote', '192.0.2.3', { name: 's', key: 'quote' }),
        bgpPeer('open', { peerIP: '192.0.2.4', asNumber: 65001 }),
      ],
      secrets: new StaticSecretSource({ 's/good': 'pw', 's/quote': 'a"b' }),
    });
    assert.deepEqual(
      v.v4?.peers.map((p) => [p.name, p.password]),
      [
        ['Global_192_0_2_1', 'pw'],
        ['Global_192_0_2_4', undefined],
      ],
    );
    assert.deepEqual(
      v.v4.passwordProblems.map((p) => [p.outcome, p.peer, p.ip, p.origin, p.secret, p.reason]),
      [
        [
          'refused',
          'Global_192_0_2_2',
          '192.0.2.2',
          'BGPPeer bad',
          's/missing',
          'secret s does not have key missing',
        ],
        [
          'refused',
          'Global_192_0_2_3',
          '192.0.2.3',
          'BGPPeer quote',
          's/quote',
          `secret s/quote: the password contains a '"' or a line break, which BIRD cannot accept`,
        ],
      ],
    );
    // In BIRD's file: a comment instead of the session, and never the secret's value.
    const text = renderBirdConfig(v);
    assert.doesNotMatch(text, /protocol bgp Global_192_0_2_2|protocol bgp Global_192_0_2_3/);
    assert.match(
      text,
      /# Global_192_0_2_2 \(BGPPeer bad\) is not configured: its password \(secret s\/missing\)/,
    );
    assert.doesNotMatch(text, /a"b/);
  });

  it('refuses every mesh session when the mesh password cannot be read; none without a source', () => {
    const mesh = bgpConfig('default', { nodeMeshPassword: { secretKeyRef: { name: 's', key: 'mesh' } } });
    const v = view({ nodeName: 'node1', nodes: [n1, n2, n3], bgpConfigurations: [mesh] });
    assert.deepEqual(v.v4?.peers, []);
    assert.deepEqual(
      v.v4.passwordProblems.map((p) => [p.peer, p.origin, p.reason]),
      [
        ['Mesh_10_0_0_2', 'BGPConfiguration default nodeMeshPassword', 'no secret source is configured'],
        ['Mesh_10_0_0_3', 'BGPConfiguration default nodeMeshPassword', 'no secret source is configured'],
      ],
    );
    const ok = view({
      nodeName: 'node1',
      nodes: [n1, n2, n3],
      bgpConfigurations: [mesh],
      secrets: new StaticSecretSource({ 's/mesh': 'm' }),
    });
    assert.deepEqual(
      ok.v4?.peers.map((p) => [p.name, p.password]),
      [
        ['Mesh_10_0_0_2', 'm'],
        ['Mesh_10_0_0_3', 'm'],
      ],
    );
    assert.deepEqual(ok.v4.passwordProblems, []);
  });

  it('runs an optional reference that cannot be read without a password, and says so', () => {
    const v = view({
      nodeName: 'node1',
      nodes: [n1],
      bgpConfigurations: [noMesh],
      bgpPeers: [withPassword('opt', '192.0.2.9', { name: 's', key: 'k', optional: true })],
      secrets: new StaticSecretSource({}),
    });
    assert.deepEqual(
      v.v4?.peers.map((p) => [p.name, p.password]),
      [['Global_192_0_2_9', undefined]],
    );
    assert.deepEqual(
      v.v4.passwordProblems.map((p) => [p.outcome, p.peer]),
      [['unprotected', 'Global_192_0_2_9']],
    );
  });
});
