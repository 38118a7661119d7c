/**
 * Every program decides "am I the main module" the same way, so each one runs through a symlink (`npm link`
 * puts `/usr/local/bin/calicoctl` -> `.../dist/src/cli/calicoctl.js`), through `node dist/...`, and does not
 * run when imported.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../test-support/repo.js';
import { isMainModule } from './main-module.js';

describe('isMainModule', () => {
  const real =
    (links: Record<string, string>) =>
    (p: string): string => {
      const r = links[p];
      if (r === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return r;
    };

  it('compares real paths: direct, through a symlink, without the extension; never when imported', () => {
    const url = pathToFileURL('/repo/dist/src/cli/calicoctl.js').href;
    const fs = real({
      '/repo/dist/src/cli/calicoctl.js': '/repo/dist/src/cli/calicoctl.js',
      '/usr/local/bin/calicoctl': '/repo/dist/src/cli/calicoctl.js',
      '/repo/dist/src/cli/calicoctl': '/nope',
      '/repo/dist/src/cli/calicoctl.js.js': '/nope',
      '/usr/bin/other': '/repo/dist/src/other.js',
    });
    assert.equal(isMainModule(url, '/repo/dist/src/cli/calicoctl.js', fs), true);
    assert.equal(isMainModule(url, '/usr/local/bin/calicoctl', fs), true);
    assert.equal(isMainModule(url, '/usr/bin/other', fs), false);
    assert.equal(isMainModule(url, undefined, fs), false);
    assert.equal(isMainModule(url, '/missing', fs), false);
    const noExt = real({ '/repo/dist/src/cli/calicoctl.js': '/repo/dist/src/cli/calicoctl.js' });
    assert.equal(isMainModule(url, '/repo/dist/src/cli/calicoctl', noExt), true);
  });
});

const dist = join(repoRoot(), 'dist', 'src');
const skip = existsSync(join(dist, 'agent', 'main.js')) ? false : 'dist not built (npm run build)';

describe('every program runs through a symlink and through node dist/...', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-bin-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DATASTORE_TYPE: 'embedded',
    CALICO_DATASTORE_PATH: join(dir, 'calico.db'),
  };
  const programs: {
    name: string;
    target: string;
    args: string[];
    stdin?: string;
    extraEnv?: Record<string, string>;
    expect: RegExp;
  }[] = [
    { name: 'calicoctl', target: 'cli/calicoctl.js', args: ['version'], expect: /^Client Version: +v\d/m },
    {
      name: 'calico-node',
      target: 'agent/main.js',
      args: ['-v'],
      expect: /^Version: +v\d+\.\d+\.\d+\nBuild date: .*\nGit commit: /m,
    },
    {
      name: 'calico',
      target: 'cni/calico.js',
      args: [],
      stdin: '{}',
      extraEnv: { CNI_COMMAND: 'VERSION' },
      expect: /"supportedVersions":\[/,
    },
    {
      name: 'calico-ipam',
      target: 'cni/calico-ipam.js',
      args: [],
      stdin: '{}',
      extraEnv: { CNI_COMMAND: 'VERSION' },
      expect: /"supportedVersions":\[/,
    },
    { name: 'calico-lab', target: 'lab/main.js', args: ['--help'], expect: /^Usage: calico-lab/m },
    {
      name: 'calico-conformance',
      target: 'conformance/main.js',
      args: ['--help'],
      expect: /^Usage: calico-conformance/m,
    },
    { name: 'install-cni', target: 'cni/install.js', args: ['--help'], expect: /usage: install-cni/ },
    {
      name: 'calico-apiserver',
      target: 'apiserver/main.js',
      args: ['--help'],
      expect: /^Usage: calico-apiserver/m,
    },
    {
      name: 'calico-goldmane',
      target: 'goldmane/main.js',
      args: ['--help'],
      expect: /^Usage: calico-goldmane/m,
    },
    {
      name: 'calico-whisker',
      target: 'whisker/main.js',
      args: ['--help'],
      expect: /^Usage: calico-whisker/m,
    },
  ];

  it('package.json bin entries point at these programs', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    for (const [name, path] of Object.entries(pkg.bin)) {
      const p = programs.find((x) => x.name === name);
      assert.ok(p !== undefined, `${name} is tested`);
      assert.equal(path, `dist/src/${p.target}`);
    }
  });

  for (const p of programs) {
    it(p.name, () => {
      const target = join(dist, p.target);
      chmodSync(target, 0o755);
      const link = join(dir, p.name);
      if (!existsSync(link)) symlinkSync(target, link);
      for (const argv of [
        [link, ...p.args],
        [process.execPath, target, ...p.args],
      ]) {
        const r = spawnSync(argv[0] ?? '', argv.slice(1), {
          env: { ...env, ...p.extraEnv },
          input: p.stdin ?? '',
          encoding: 'utf8',
          timeout: 30_000,
        });
        assert.match(
          `${r.stdout}${r.stderr}`,
          p.expect,
          `${argv.join(' ')}: exit ${String(r.status)}\n${r.stdout}${r.stderr}`,
        );
      }
    });
  }
});
