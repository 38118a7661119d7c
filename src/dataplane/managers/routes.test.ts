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
