/**
 * Golden tests: every `testdata/golden/bird/<case>/input.yaml` renders to exactly its `bird.cfg`
 * (UPDATE_GOLDEN=1 rewrites), and every output is accepted by BIRD 2's own parser (`bird -p -c`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { expectGolden } from '../test-support/golden.js';
import { testdataPath } from '../test-support/repo.js';
import { computeBgpView } from './model.js';
import { renderBirdConfig } from './render.js';
import { loadRoutingCase } from './testing.js';

const root = testdataPath('golden', 'bird');
const cases = readdirSync(root, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

const birdMissing = spawnSync('bird', ['--version']).error !== undefined;
const tmp = mkdtempSync(join(tmpdir(), 'calts-bird-golden-'));

function birdParse(text: string, name: string): { ok: boolean; output: string } {
  const file = join(tmp, `${name}.cfg`);
  writeFileSync(file, text);
  const r = spawnSync('bird', ['-p', '-c', file], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('BIRD 2 configuration goldens', () => {
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('has the required cases', () => {
    for (const c of [
      'mesh-3-nodes',
      'mesh-disabled-global-peer',
      'route-reflector',
      'route-reflector-client',
      'node-selector-peer',
      'peer-selector',
      'password-ttl-nexthop',
      'bgp-filters',
      'ipv6',
      'custom-as-per-node',
      'listen-port',
    ]) {
      assert.ok(cases.includes(c), `missing golden case ${c}`);
    }
  });

  for (const name of cases) {
    describe(name, () => {
      const dir = join(root, name);
      const view = computeBgpView(loadRoutingCase(join(dir, 'input.yaml')));
      const text = view.ok ? renderBirdConfig(view.value) : '';

      it('computes a view', () => {
        assert.ok(view.ok, view.ok ? '' : view.error);
      });

      it('renders the golden bird.cfg', () => {
        expectGolden(join(dir, 'bird.cfg'), text);
      });

      it('passes bird -p', { skip: birdMissing ? 'bird (BIRD 2) is not installed' : false }, () => {
        assert.ok(existsSync(join(dir, 'bird.cfg')) || view.ok);
        const r = birdParse(text, name);
        assert.ok(r.ok, `bird -p rejected ${name}: ${r.output}`);
      });
    });
  }
});
