import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeCommandRunner } from '../../dataplane/exec/fake-runner.js';
import { parseCommandArgs } from '../command.js';
import type { CliIo } from '../io.js';
import { createNodeStatusCommand, nodeStatusCommand } from './node-status.js';

const PROTOCOLS = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     10:00:00.000  
Mesh_10_0_0_2 BGP        ---        up     10:00:05.000  Established   
`;

async function run(
  args: string[],
  deps: Parameters<typeof createNodeStatusCommand>[0],
  env: Record<string, string> = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    readStdin: () => Promise.resolve(''),
    env,
  };
  const cmd = createNodeStatusCommand(deps);
  const { values, positionals } = parseCommandArgs(cmd, args);
  const status = await cmd.run({ values, positionals, io });
  return { status, stdout, stderr };
}

const running = () =>
  Promise.resolve([
    ['calico-node', '-felix'],
    ['bird', '-c', 'x'],
  ]);

describe('calicoctl node status', () => {
  it('is the "node status" command with a --socket option', () => {
    assert.deepEqual(nodeStatusCommand.words, ['node', 'status']);
    assert.ok('socket' in nodeStatusCommand.options);
  });

  it('queries the socket given by --socket, else $CALICO_BIRD_SOCKET, else the default', async () => {
    const runner = new FakeCommandRunner().on({ cmd: 'birdc' }, { stdout: PROTOCOLS });
    const deps = { runner, processes: running, isRoot: () => true };
    const r = await run(['--socket', '/tmp/x/bird.ctl'], deps, { CALICO_BIRD_SOCKET: '/tmp/env.ctl' });
    assert.equal(r.status, 0);
    assert.ok(r.stdout.includes('| 10.0.0.2     | node-to-node mesh | up    | 10:00:05.000 | Established |'));
    await run([], deps, { CALICO_BIRD_SOCKET: '/tmp/env.ctl' });
    await run([], deps);
    assert.deepEqual(
      runner.calls.map((c) => c.args[1]),
      ['/tmp/x/bird.ctl', '/tmp/env.ctl', '/var/run/calico/bird.ctl'],
    );
  });

  it('needs root and takes no arguments', async () => {
    const runner = new FakeCommandRunner();
    assert.deepEqual(await run([], { runner, processes: running, isRoot: () => false }), {
      status: 1,
      stdout: 'Need super user privileges: Operation not permitted\n',
      stderr: '',
    });
    const extra = await run(['extra'], { runner, processes: running, isRoot: () => true });
    assert.equal(extra.status, 1);
    assert.match(extra.stderr, /Invalid option/);
    assert.equal(runner.calls.length, 0);
  });

  it('fails with Calico not running', async () => {
    const r = await run([], {
      runner: new FakeCommandRunner(),
      processes: () => Promise.resolve([]),
      isRoot: () => true,
    });
    assert.deepEqual(r, { status: 1, stdout: '', stderr: 'Calico process is not running.\n' });
  });
});
