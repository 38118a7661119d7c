import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readDnsCacheFile, writeDnsCacheFile } from './dns-cache-file.js';

describe('dnsCacheFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-dnscache-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips live records; expired ones, another epoch and bad files are ignored with the reason', async () => {
    const file = join(dir, 'sub', 'felix-dns-cache.txt');
    await writeDnsCacheFile(file, {
      epoch: 3,
      records: [
        { kind: 'address', name: 'api.example.com', ip: '192.0.2.1', expiresAt: 2_000 },
        { kind: 'cname', name: 'www.example.com', target: 'edge.cdn.test', expiresAt: 5_000 },
        { kind: 'address', name: 'old.example.com', ip: '192.0.2.9', expiresAt: 500 },
      ],
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const ok = await readDnsCacheFile(file, 3, 1_000);
    assert.equal(ok.problem, undefined);
    assert.deepEqual(
      ok.records.map((r) => r.name),
      ['api.example.com', 'www.example.com'],
    );
    assert.match((await readDnsCacheFile(file, 4, 1_000)).problem ?? '', /epoch 3 is not dnsCacheEpoch 4/);
    assert.deepEqual(await readDnsCacheFile(join(dir, 'absent'), 0, 0), { records: [] });
    writeFileSync(join(dir, 'bad'), '{"version":1,');
    assert.match((await readDnsCacheFile(join(dir, 'bad'), 0, 0)).problem ?? '', /not JSON/);
    writeFileSync(
      join(dir, 'odd'),
      JSON.stringify({ version: 1, epoch: 0, records: [{ kind: 'address', name: 1 }, null] }),
    );
    assert.deepEqual(await readDnsCacheFile(join(dir, 'odd'), 0, 0), { records: [] });
  });
});
