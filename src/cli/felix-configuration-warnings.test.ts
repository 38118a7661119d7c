/** calicoctl says which FelixConfiguration fields calico-ts accepts but does not implement (the write still happens). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { calicoctl } from './testing.js';

const DOC = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: default
spec:
  flowLogsCollectorDebugTrace: true
  wireguardEnabledV6: true
  prometheusMetricsEnabled: true
`;

describe('calicoctl and FelixConfiguration fields calico-ts does not implement', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-felixwarn-'));
  const env = { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: join(dir, 'calico.db') };
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('validate and apply warn on stderr, naming each field, and still succeed', async () => {
    for (const args of [
      ['validate', '-f', '-'],
      ['apply', '-f', '-'],
    ]) {
      const r = await calicoctl(args, { stdin: DOC, env });
      assert.equal(r.status, 0, r.stderr);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
      assert.deepEqual(
        warnings.map((l) => /: (spec\.\w+): /.exec(l)?.[1]),
        ['spec.flowLogsCollectorDebugTrace', 'spec.wireguardEnabledV6'],
        r.stderr,
      );
      assert.match(
        warnings[0] ?? '',
        /<stdin>: document 0 \(FelixConfiguration default\): .*not implemented by calico-ts/,
      );
    }
    const got = await calicoctl(['get', 'felixconfiguration', 'default', '-o', 'yaml'], { env });
    assert.equal(got.status, 0, got.stderr);
    assert.match(got.stdout, /flowLogsCollectorDebugTrace: true/);
  });
});
