import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelProgrammingError } from '../../lib/errors.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import { failedBatchLines, RouteManager } from './routes.js';

const link = (name: string, up: boolean) => ({ ifname: name, flags: up ? ['UP'] : [] });

/** A kernel whose interface state changes between the read and the batch. */
function kernel(before: boolean, after: boolean): FakeCommandRunner {
  const runner = new FakeCommandRunner();
  let reads = 0;
  runner.on({ cmd: 'ip', args: ['-j', 'link', 'show'] }, () => ({
    stdout: JSON.stringify([link('calia', reads++ === 0 ? before : after)]),
  }));
  runner.on({ cmd: 'ip', argsPrefix: ['-4', '-j', 'route'] }, { stdout: '[]' });
  runner.on({ cmd: 'ip', argsPrefix: ['-6', '-j', 'route'] }, { stdout: '[]' });
  runner.on({ cmd: 'sysctl' }, {});
  runner.on(
    { cmd: 'ip', argsPrefix: ['-force', '-batch'] },
    { code: 1, stderr: 'Error: Nexthop device is not up.\nCommand failed -:2\n' },
  );
  return runner;
}

describe('RouteManager batch failures', () => {
  it('parses the failed lines of ip -force -batch', () => {
    assert.deepEqual(
      failedBatchLines('Error: x\nCommand failed -:2\nError: y\nCommand failed -:7\n'),
      [2, 7],
    );
    assert.deepEqual(failedBatchLines('something else'), []);
  });

  it('leaves a line whose interface went down meanwhile for the next apply', async () => {
    const m = new RouteManager(kernel(true, false), () => ['cali']);
    m.setDesired([{ interfaceName: 'calia', nets: ['10.0.0.1/32', 'fd00::1/128'] }]);
    await m.apply();
    assert.equal(m.pending, 1);
  });

  it('fails the apply, with the tool output, when the interface is up', async () => {
    const m = new RouteManager(kernel(true, true), () => ['cali']);
    m.setDesired([{ interfaceName: 'calia', nets: ['10.0.0.1/32', 'fd00::1/128'] }]);
    await assert.rejects(
      m.apply(),
      (e: unknown) => e instanceof KernelProgrammingError && e.stderr.includes('Nexthop device is not up'),
    );
  });
});

describe('RouteManager route priority', () => {
  it("programs workload routes at Felix's normal priority and replaces the CNI plugin's metric-0 route", async () => {
    const runner = new FakeCommandRunner();
    runner.on({ cmd: 'ip', args: ['-j', 'link', 'show'] }, { stdout: JSON.stringify([link('calia', true)]) });
    runner.on(
      { cmd: 'ip', argsPrefix: ['-4', '-j', 'route'] },
      // The CNI plugin's route (no metric: 0), one already right, one nobody wants.
      {
        stdout: JSON.stringify([
          { dst: '10.0.0.1', dev: 'calia', protocol: 'boot', scope: 'link' },
          { dst: '10.0.0.2', dev: 'calia', protocol: 'boot', scope: 'link', metric: 1024 },
          { dst: '10.0.0.9', dev: 'calia', protocol: 'boot', scope: 'link', metric: 1024 },
        ]),
      },
    );
    runner.on(
      { cmd: 'ip', argsPrefix: ['-6', '-j', 'route'] },
      { stdout: JSON.stringify([{ dst: 'fd00::1', dev: 'calia', protocol: 'boot', metric: 1024 }]) },
    );
    runner.on({ cmd: 'sysctl' }, {});
    runner.on({ cmd: 'ip', argsPrefix: ['-force', '-batch'] }, {});
    const m = new RouteManager(runner, () => ['cali']);
    m.setDesired([{ interfaceName: 'calia', nets: ['10.0.0.1/32', '10.0.0.2/32', 'fd00::1/128'] }]);
    await m.apply();
    const [batch] = runner.callsMatching({ cmd: 'ip', argsPrefix: ['-force', '-batch'] });
    assert.deepEqual(batch?.stdin?.trim().split('\n'), [
      'route replace 10.0.0.1/32 dev calia scope link metric 1024',
      'route del 10.0.0.1/32 dev calia metric 0',
      'route del 10.0.0.9/32 dev calia metric 1024',
    ]);
  });
});
