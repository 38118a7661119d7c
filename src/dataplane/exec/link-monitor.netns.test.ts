/**
 * IpLinkMonitor on the real kernel, in a namespace of its own (root only; skipped with the reason otherwise).
 * Nothing touches the root namespace.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NetnsScope, kernelTestSkipReason } from '../../labkit/netns.js';
import { waitFor } from '../../lib/async.js';
import { IpLinkMonitor, type LinkMonitorExit } from './link-monitor.js';
import { NodeCommandRunner } from './node-runner.js';
import { waitGone } from './testing/prepared-contract.js';

const skip = kernelTestSkipReason(['ip']);
const host = new NodeCommandRunner();

describe('IpLinkMonitor', { skip }, () => {
  const scope = new NetnsScope(host);
  after(() => scope[Symbol.asyncDispose]());

  test('reports link changes in its namespace, is restarted when it dies, and stops with its signal', async () => {
    const ns = await scope.namespace();
    const exits: LinkMonitorExit[] = [];
    const monitor = new IpLinkMonitor({
      ipArgs: ['-n', ns],
      restartMinMs: 20,
      onExit: (e) => exits.push(e),
    });
    let events = 0;
    const controller = new AbortController();
    monitor.start(() => {
      events++;
    }, controller.signal);
    try {
      let n = 0;
      /** Adds veth pairs until the monitor has reported one (it may not listen yet when the first comes). */
      const seeLinkEvent = async (): Promise<void> => {
        const before = events;
        await waitFor(
          async () => {
            const name = `calts-v${n++}`;
            await host.run('ip', ['-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
            return events > before;
          },
          { timeoutMs: 10_000, what: 'a link event', intervalMs: 50 },
        );
      };
      await seeLinkEvent();
      const first = monitor.pid;
      assert.ok(first !== undefined);
      // Killed by someone: restarted, and the restart wakes the loop once (events may have been missed).
      const before = events;
      process.kill(first, 'SIGKILL');
      await waitFor(() => monitor.pid !== undefined && monitor.pid !== first && events > before, {
        timeoutMs: 10_000,
        what: 'the monitor to be restarted',
      });
      assert.equal(exits[0]?.signal, 'SIGKILL');
      await seeLinkEvent();
      const second = monitor.pid!;
      controller.abort();
      assert.ok(await waitGone(second));
      assert.equal(monitor.pid, undefined);
      assert.equal(exits.length, 1, 'not restarted after the abort');
    } finally {
      controller.abort();
    }
  });
});
