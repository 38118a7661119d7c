/**
 * RouteManager against the real kernel, in a namespace of its own: a workload interface that is not up yet
 * is waited for (the kernel refuses routes through a down device), its routes are programmed (metric 1024)
 * once it is up and again after it was down, routes nobody wants are swept, and a metric-0 route to a
 * workload address (the CNI plugin's) is replaced.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NetnsScope, kernelTestSkipReason, runChecked } from '../../labkit/netns.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import { failedBatchLines, RouteManager } from './routes.js';

const skip = kernelTestSkipReason(['ip', 'sysctl']);

describe('RouteManager on the real kernel', { skip }, () => {
  const scope = new NetnsScope(new NodeCommandRunner());
  after(() => scope[Symbol.asyncDispose]());

  test('waits for a down interface, programs it when up and after a down/up, sweeps unwanted routes', async () => {
    const ns = await scope.namespace();
    const runner = scope.runner(ns);
    const ip = (...args: string[]) => runChecked(runner, 'ip', args);
    const routes = async (): Promise<string> =>
      `${await ip('-4', 'route', 'show')}${await ip('-6', 'route', 'show')}`;
    await ip('link', 'add', 'caliaaaa', 'type', 'veth', 'peer', 'name', 'peer0');
    const m = new RouteManager(runner, () => ['cali']);
    m.setDesired([{ interfaceName: 'caliaaaa', nets: ['10.65.0.5/32', 'fd00::5/128'] }]);

    await m.apply();
    assert.equal(m.pending, 1, 'a down interface is pending, not an error');
    assert.doesNotMatch(await routes(), /caliaaaa/);

    await ip('link', 'set', 'caliaaaa', 'up');
    await m.apply();
    assert.equal(m.pending, 0);
    const up = await routes();
    // At Felix's normal route priority in both families.
    assert.match(up, /10\.65\.0\.5 dev caliaaaa scope link metric 1024/);
    assert.match(up, /fd00::5 dev caliaaaa metric 1024/);

    // Down again (the kernel drops its routes): nothing fails, and they are back once it is up.
    await ip('link', 'set', 'caliaaaa', 'down');
    await m.apply();
    assert.equal(m.pending, 1);
    await ip('link', 'set', 'caliaaaa', 'up');
    await m.apply();
    assert.equal(m.pending, 0);
    const again = await routes();
    assert.match(again, /10\.65\.0\.5 dev caliaaaa/);
    assert.match(again, /fd00::5 dev caliaaaa/);

    // A route of ours that nobody wants any more is deleted; the interface's own stays.
    await ip('link', 'add', 'calibbbb', 'type', 'veth', 'peer', 'name', 'peer1');
    await ip('link', 'set', 'calibbbb', 'up');
    await ip('route', 'add', '10.65.0.9/32', 'dev', 'calibbbb', 'scope', 'link');
    await m.apply();
    const swept = await routes();
    assert.doesNotMatch(swept, /10\.65\.0\.9/);
    assert.match(swept, /10\.65\.0\.5 dev caliaaaa/);

    // The CNI plugin's route (metric 0) to a wanted address is replaced by one at metric 1024.
    await ip('route', 'add', '10.65.0.6/32', 'dev', 'caliaaaa', 'scope', 'link');
    m.setDesired([{ interfaceName: 'caliaaaa', nets: ['10.65.0.5/32', '10.65.0.6/32', 'fd00::5/128'] }]);
    await m.apply();
    // (Its veth peer is down: the kernel marks the route linkdown.)
    assert.match(
      (await ip('-4', 'route', 'show', '10.65.0.6/32')).trim(),
      /^10\.65\.0\.6 dev caliaaaa scope link metric 1024 linkdown$/,
    );
  });

  test('reads the failed lines of a real ip -force -batch run', async () => {
    const ns = await scope.namespace();
    const runner = scope.runner(ns);
    await runChecked(runner, 'ip', ['link', 'add', 'calicccc', 'type', 'veth', 'peer', 'name', 'peer2']);
    const r = await runner.run('ip', ['-force', '-batch', '-'], {
      stdin: 'route replace 10.66.0.1/32 dev calicccc scope link\nroute replace fd00::1/128 dev calicccc\n',
    });
    assert.notEqual(r.code, 0);
    // Both lines name a device that is down.
    assert.deepEqual(failedBatchLines(r.stderr), [1, 2]);
  });
});
