import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../lib/async.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import { SpawnerCommandRunner } from '../exec/spawner.js';
import { waitGone } from '../exec/testing/prepared-contract.js';
import { NftCli } from './nft-cli.js';

/** A stand-in for nft: notes its pid when it starts and `<pid> <script>` when it has read its script. */
function fakeNft(dir: string): string {
  const path = join(dir, 'nft');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `echo $$ >> ${dir}/started`,
      'input=$(cat)',
      `echo "$$ $input" >> ${dir}/ran`,
      'case "$input" in *bad*) echo "Error: syntax error, unexpected bad" >&2; exit 1;; esac',
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}

const lines = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('NftCli keeps the next `nft -f -` started', () => {
  const spawner = new SpawnerCommandRunner();
  after(() => spawner.close());
  const runners: [string, CommandRunner][] = [
    ['directly', new NodeCommandRunner()],
    ['through the spawner helper', spawner],
  ];
  for (const [how, runner] of runners) {
    it(`runs transactions in a process started before them, replaces one that died, reports nft's complaint (${how})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'calts-nft-cli-'));
      const cli = new NftCli({ runner, nft: fakeNft(dir), timeoutMs: 10_000 });
      try {
        const started = (n: number) =>
          waitFor(() => (lines(join(dir, 'started')).length >= n ? lines(join(dir, 'started')) : undefined), {
            timeoutMs: 10_000,
            what: `${n} nft processes started`,
          });
        const ranBy = (script: string) =>
          lines(join(dir, 'ran'))
            .find((l) => l.endsWith(` ${script}`))
            ?.split(' ')[0];
        assert.equal(await cli.transaction('add table one', undefined), undefined);
        // The first transaction started its own nft; the next one is waiting already.
        const [first, standby] = await started(2);
        assert.equal(ranBy('add table one'), first);
        assert.equal(await cli.transaction('add table two', undefined), undefined);
        assert.equal(ranBy('add table two'), standby, 'the second transaction went to the waiting process');
        assert.equal(cli.standbyRuns, 1);
        // The waiting process dies (killed by someone): the next transaction still runs, in a new process.
        const third = (await started(3))[2]!;
        process.kill(Number(third), 'SIGKILL');
        await waitGone(Number(third));
        assert.equal(await cli.transaction('add table three', undefined), undefined);
        assert.notEqual(ranBy('add table three'), undefined);
        assert.notEqual(ranBy('add table three'), third);
        assert.equal(cli.standbyRuns, 1);
        // A rejected transaction reports nft's stderr, from a waiting process as well.
        await started(5);
        assert.equal(await cli.transaction('bad', undefined), 'Error: syntax error, unexpected bad');
        assert.equal(cli.standbyRuns, 2);
        assert.equal(cli.errors, 1);
        // close disposes the process waiting for the next transaction.
        const waiting = (await started(6))[5]!;
        cli.close();
        assert.ok(await waitGone(Number(waiting)));
        assert.equal(await cli.transaction('add table four', undefined), undefined, 'still usable');
        assert.equal(lines(join(dir, 'started')).length, 7, 'no process is started after close');
      } finally {
        cli.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
