import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { NetnsScope, namespaceOwnerPid, sweepStaleNamespaces, uniqueNamespaceName } from './netns.js';

describe('namespace names', () => {
  test('carry the prefix and the creating pid', () => {
    const name = uniqueNamespaceName();
    assert.match(name, /^calts-[0-9a-z]+-[0-9a-f]{6}$/);
    assert.equal(namespaceOwnerPid(name), process.pid);
    assert.notEqual(uniqueNamespaceName(), name);
    assert.equal(namespaceOwnerPid('calts-legacy'), undefined);
    assert.equal(namespaceOwnerPid('other-1-abcdef'), undefined);
  });

  test('can name another owner (the lab CLI names its namespaces after a keeper process)', () => {
    const name = uniqueNamespaceName('calts-lab-', 123456);
    assert.match(name, /^calts-lab-2n9c-[0-9a-f]{6}$/);
    assert.equal(namespaceOwnerPid(name, 'calts-lab-'), 123456);
  });
});

describe('sweepStaleNamespaces', () => {
  test('deletes only prefixed namespaces whose creator is gone, killing what still runs in them', async () => {
    const fake = new FakeCommandRunner()
      .on(
        { cmd: 'ip', args: ['-j', 'netns', 'list'] },
        {
          stdout: JSON.stringify([
            { name: 'calts-a-111111' }, // pid 10: dead
            { name: 'calts-b-222222' }, // pid 11: alive
            { name: 'calts-junk' }, // no pid: stale
            { name: 'other-a-333333' },
          ]),
        },
      )
      .on({ cmd: 'ip', argsPrefix: ['netns', 'pids'] }, (c) => ({
        stdout: c.args[2] === 'calts-junk' ? '42\n43\n' : '',
      }))
      .on({ cmd: 'ip', argsPrefix: ['netns', 'del'] }, {})
      .on({ cmd: 'kill' }, {});
    const swept = await sweepStaleNamespaces(fake, 'calts-', { isAlive: (pid) => pid === 11 });
    assert.deepEqual(swept, ['calts-a-111111', 'calts-junk']);
    assert.deepEqual(
      fake.calls
        .filter((c) => c.cmd === 'kill' || c.args[1] === 'del')
        .map((c) => [c.cmd, ...c.args].join(' ')),
      ['ip netns del calts-a-111111', 'kill -KILL 42 43', 'ip netns del calts-junk'],
    );
  });
});

describe('NetnsScope', () => {
  test('deletes what it created, in reverse order, even when creation failed half way', async () => {
    const created: string[] = [];
    const fake = new FakeCommandRunner()
      .on({ cmd: 'ip', argsPrefix: ['netns', 'add'] }, (c) => {
        created.push(c.args[2]!);
        return {};
      })
      .on({ cmd: 'ip', argsPrefix: ['-n'] }, {})
      .on({ cmd: 'ip', args: ['-j', 'netns', 'list'] }, () => ({
        stdout: JSON.stringify(created.map((name) => ({ name }))),
      }))
      .on({ cmd: 'ip', argsPrefix: ['netns', 'pids'] }, {})
      .on({ cmd: 'ip', argsPrefix: ['netns', 'del'] }, {});
    const scope = new NetnsScope(fake);
    const a = await scope.namespace();
    fake.failNext({ cmd: 'ip', argsPrefix: ['-n'] }, { stderr: 'lo: nope' });
    await assert.rejects(scope.namespace(), /lo: nope/);
    const b = created[1]!;
    await assert.rejects(
      scope.veth({ ns: a, name: 'veth-a' }, { ns: 'calts-elsewhere', name: 'veth-b' }),
      /not in this scope/,
    );
    await scope[Symbol.asyncDispose]();
    assert.deepEqual(
      fake.calls.filter((c) => c.args[1] === 'del').map((c) => c.args[2]),
      [b, a],
    );
    assert.deepEqual(scope.namespaces, []);
  });
});
