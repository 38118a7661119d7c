import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import {
  createNamespace,
  kernelTestSkipReason,
  listNamespaces,
  NetnsScope,
  sweepStaleNamespaces,
  uniqueNamespaceName,
} from './netns.js';

const skip = kernelTestSkipReason(['ip', 'socat', 'ss']);
const runner = new NodeCommandRunner();

describe('netns helpers (real kernel)', { skip }, () => {
  const scope = new NetnsScope(runner);
  after(() => scope[Symbol.asyncDispose]());

  test('two namespaces joined by a veth: TCP and UDP probes reach an echo server, closed ports do not', async () => {
    const client = await scope.namespace();
    const server = await scope.namespace();
    await scope.veth(
      { ns: client, name: 'eth0', address: '10.99.0.1/24' },
      { ns: server, name: 'eth0', address: '10.99.0.2/24' },
    );
    await scope.listen(server, { protocol: 'tcp', address: '10.99.0.2', port: 8080 });
    await scope.listen(server, { protocol: 'udp', address: '10.99.0.2', port: 5353 });
    assert.deepEqual(await scope.probe(client, { protocol: 'tcp', address: '10.99.0.2', port: 8080 }), {
      connected: true,
      detail: 'echoed',
    });
    assert.equal(
      (await scope.probe(client, { protocol: 'udp', address: '10.99.0.2', port: 5353 })).connected,
      true,
    );
    assert.equal(
      (await scope.probe(client, { protocol: 'tcp', address: '10.99.0.2', port: 8081 })).connected,
      false,
    );
    assert.equal(
      (await scope.probe(client, { protocol: 'udp', address: '10.99.0.2', port: 5354 })).connected,
      false,
    );
    // Loopback inside a namespace works too (lo was brought up).
    await scope.listen(server, { protocol: 'tcp', address: '127.0.0.1', port: 9000 });
    assert.equal(
      (await scope.probe(server, { protocol: 'tcp', address: '127.0.0.1', port: 9000 })).connected,
      true,
    );
  });

  test('routes between namespaces through a router namespace', async () => {
    const a = await scope.namespace();
    const r = await scope.namespace();
    const b = await scope.namespace();
    await scope.veth(
      { ns: a, name: 'eth0', address: '10.97.1.2/24' },
      { ns: r, name: 'to-a', address: '10.97.1.1/24' },
    );
    await scope.veth(
      { ns: b, name: 'eth0', address: '10.97.2.2/24' },
      { ns: r, name: 'to-b', address: '10.97.2.1/24' },
    );
    await scope.sysctl(r, 'net.ipv4.ip_forward', '1');
    await scope.addRoute(a, 'default', { via: '10.97.1.1' });
    await scope.addRoute(b, '10.97.1.0/24', { via: '10.97.2.1', dev: 'eth0' });
    await scope.listen(b, { protocol: 'tcp', address: '10.97.2.2', port: 7000 });
    assert.equal(
      (await scope.probe(a, { protocol: 'tcp', address: '10.97.2.2', port: 7000 })).connected,
      true,
    );
  });

  test('dispose removes every namespace it created, with processes still running in them', async () => {
    const inner = new NetnsScope(runner);
    const ns = await inner.namespace();
    await inner.listen(ns, { protocol: 'udp', address: '127.0.0.1', port: 6000 });
    await inner.probe(ns, { protocol: 'udp', address: '127.0.0.1', port: 6000 }); // leaves a forked child behind
    assert.ok((await listNamespaces(runner)).includes(ns));
    await inner[Symbol.asyncDispose]();
    assert.ok(!(await listNamespaces(runner)).includes(ns));
  });

  test('sweepStaleNamespaces removes leftovers of dead processes only', async () => {
    const prefix = 'calts-sweep-';
    const deadPid = spawnSync('true').pid;
    const dead = `${prefix}${deadPid.toString(36)}-abcdef`;
    const alive = uniqueNamespaceName(prefix);
    await createNamespace(runner, dead);
    await createNamespace(runner, alive);
    try {
      const swept = await sweepStaleNamespaces(runner, prefix);
      assert.deepEqual(swept, [dead]);
      const names = await listNamespaces(runner);
      assert.ok(!names.includes(dead));
      assert.ok(names.includes(alive));
    } finally {
      for (const n of [dead, alive]) {
        if ((await listNamespaces(runner)).includes(n)) await runner.run('ip', ['netns', 'del', n]);
      }
    }
  });
});
