/**
 * The `nft -f -` NftCli keeps waiting runs in the network namespace of its runner, like every other command
 * (root only; skipped with the reason otherwise). Nothing touches the root namespace.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NetnsScope, kernelTestSkipReason } from '../../labkit/netns.js';
import { waitFor } from '../../lib/async.js';
import { netnsRunner } from '../exec/command-runner.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import { SpawnerCommandRunner } from '../exec/spawner.js';
import { NftCli } from './nft-cli.js';

const skip = kernelTestSkipReason(['ip', 'nft']);
const host = new NodeCommandRunner();

describe('NftCli in a network namespace', { skip }, () => {
  const scope = new NetnsScope(host);
  const spawner = new SpawnerCommandRunner();
  after(async () => {
    await spawner.close();
    await scope[Symbol.asyncDispose]();
  });

  test('the waiting nft runs in the runner’s namespace and is gone after close', async () => {
    const ns = await scope.namespace();
    const cli = new NftCli({ runner: netnsRunner(spawner, ns), nft: 'nft', timeoutMs: 30_000 });
    const pids = async (): Promise<string[]> =>
      (await host.run('ip', ['netns', 'pids', ns])).stdout.trim().split('\n').filter(Boolean);
    try {
      assert.equal(await cli.transaction('add table inet calts_a\n', undefined), undefined);
      // The next nft is started in the namespace before the next transaction is known.
      const [waiting] = await waitFor(async () => ((await pids()).length === 1 ? pids() : undefined), {
        timeoutMs: 10_000,
        what: `an nft waiting in ${ns}`,
      });
      assert.match((await host.run('ps', ['-o', 'comm=', '-p', waiting!])).stdout, /nft/);
      assert.equal(await cli.transaction('add table inet calts_b\n', undefined), undefined);
      assert.equal(cli.standbyRuns, 1);
      const tables = await host.run('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables']);
      assert.match(tables.stdout, /table inet calts_a/);
      assert.match(tables.stdout, /table inet calts_b/);
      // A transaction nft rejects reports its complaint, as before.
      assert.match(
        (await cli.transaction('add chain inet calts_missing c\n', undefined)) ?? '',
        /Error: No such file or directory\nadd chain inet calts_missing c/,
      );
    } finally {
      cli.close();
    }
    await waitFor(async () => (await pids()).length === 0, {
      timeoutMs: 10_000,
      what: `no process left in ${ns}`,
    });
  });
});
