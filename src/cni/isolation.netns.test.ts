/**
 * Pods are isolated before their first packet. A default-deny ingress policy for `app == target` is in
 * the datastore; another pod floods the new pod's (annotated, so known in advance) address with TCP SYNs
 * and UDP datagrams from before the new pod's interface exists until well after ADD returns. The new pod
 * counts every TCP/UDP packet reaching it (nft counters in its namespace, installed before ADD) and a
 * listener in it records every connection and datagram: both stay at zero, before and after ADD returns,
 * while the node's own counters show the flood was being routed to the pod's interface all along. Removing
 * the policy then lets the same flood in, which proves the sender, address and path were live. Both ways
 * of running the plugin: through the agent's CNI socket, and as standalone processes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../datastore/api.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { sleep, waitFor } from '../lib/async.js';
import { CNI_MODES, CniNode, inNs, ipPool, namespaceObject, podObject, runner } from './testing/harness.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl']);
const TARGET_IP = '10.71.0.10';
const PORT = 7777;

/** Floods host:port with UDP datagrams (every 2 ms) and TCP connection attempts (every 5 ms), bounded. */
const SENDER = `
const net = require('node:net'); const dgram = require('node:dgram');
const [host, port, maxMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const udp = dgram.createSocket('udp4'); udp.on('error', () => {});
let inflight = 0, sent = 0;
const u = setInterval(() => { udp.send('probe', port, host, () => {}); sent++; }, 2);
const t = setInterval(() => {
  if (inflight >= 50) return;
  inflight++;
  const s = net.connect({ host, port, timeout: 200 });
  const done = () => { s.destroy(); inflight--; };
  s.on('connect', done); s.on('timeout', done); s.on('error', () => { inflight--; });
}, 5);
setTimeout(() => { clearInterval(u); clearInterval(t); udp.close(); process.stdout.write(String(sent)); process.exit(0); }, maxMs);
`;

/** Records every TCP connection and UDP datagram on the port, one line each. */
const LISTENER = `
const net = require('node:net'); const dgram = require('node:dgram');
const port = Number(process.argv[1]);
net.createServer((c) => { process.stdout.write('tcp ' + c.remoteAddress + '\\n'); c.destroy(); }).listen(port, '0.0.0.0');
const u = dgram.createSocket('udp4'); u.on('message', (_m, r) => process.stdout.write('udp ' + r.address + '\\n')); u.bind(port, '0.0.0.0');
setTimeout(() => process.exit(0), Number(process.argv[2]));
`;

function background(
  ns: string,
  script: string,
  args: string[],
): { proc: ChildProcessWithoutNullStreams; output: () => string } {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, output: () => out };
}

async function nft(ns: string, script: string): Promise<void> {
  const r = await runner.run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
    stdin: script,
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, r.stderr);
}

async function counter(ns: string, name: string): Promise<number> {
  const out = await inNs(ns, 'nft', ['-j', 'list', 'counter', 'inet', 'probe', name]);
  const m = /"packets":\s*(\d+)/.exec(out);
  return m === null ? -1 : Number(m[1]);
}

const denyTargetIngress = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'NetworkPolicy',
  metadata: { name: 'deny-target-ingress', namespace: 'iso' },
  spec: { selector: "app == 'target'", types: ['Ingress'] },
} as Resource;

for (const mode of CNI_MODES) {
  describe(`a new pod is isolated before its first packet (${mode})`, { skip, timeout: 300_000 }, () => {
    const scope = new NetnsScope(runner);
    const node = new CniNode({ nodeName: 'node1', datastore: { type: 'embedded' }, mode });
    const procs: ChildProcessWithoutNullStreams[] = [];

    before(async () => {
      await node.setup(scope);
      await node.put(ipPool('pool-v4', '10.71.0.0/16'));
      await node.put(namespaceObject('iso'));
      await node.put(denyTargetIngress);
      await node.put(
        podObject(
          'iso',
          'target',
          { app: 'target' },
          { annotations: { 'cni.projectcalico.org/ipAddrs': `["${TARGET_IP}"]` } },
        ),
      );
      await node.put(podObject('iso', 'sender', { app: 'sender' }));
      node.startAgent();
      await node.agentReady();
    });

    after(async () => {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
      await node[Symbol.asyncDispose]();
      await scope[Symbol.asyncDispose]();
    });

    it('receives nothing the policy forbids, before or after ADD returns', async () => {
      const senderNs = await scope.namespace();
      const targetNs = await scope.namespace();
      const sender = node.podEnv({
        containerId: 'sender-1',
        netns: `/var/run/netns/${senderNs}`,
        namespace: 'iso',
        pod: 'sender',
      });
      const target = node.podEnv({
        containerId: 'target-1',
        netns: `/var/run/netns/${targetNs}`,
        namespace: 'iso',
        pod: 'target',
      });
      assert.equal((await node.cni('ADD', node.netconf(), sender)).code, 0);

      // Counters: every TCP/UDP packet for the port reaching the pod; on the node, the flood routed anywhere
      // and routed to a workload interface.
      await nft(
        targetNs,
        `table inet probe {\n counter rx {}\n chain probe_prerouting { type filter hook prerouting priority -400; policy accept;\n  meta l4proto { tcp, udp } th dport ${PORT} counter name "rx"\n }\n}\n`,
      );
      await nft(
        node.ns,
        `table inet probe {\n counter seen {}\n counter to_cali {}\n chain probe_forward { type filter hook forward priority -10; policy accept;\n  ip daddr ${TARGET_IP} counter name "seen"\n  ip daddr ${TARGET_IP} oifname "cali*" counter name "to_cali"\n }\n}\n`,
      );
      assert.equal(await counter(targetNs, 'rx'), 0);
      const listener = background(targetNs, LISTENER, [String(PORT), '120000']);
      procs.push(listener.proc);
      const flood = background(senderNs, SENDER, [TARGET_IP, String(PORT), '60000']);
      procs.push(flood.proc);
      // The flood is on before the target's interface exists.
      await waitFor(async () => (await counter(node.ns, 'seen')) >= 50, {
        timeoutMs: 10_000,
        intervalMs: 25,
        what: 'the sender to flood the target address (50 packets seen on the node)',
        describe: async () => `${await counter(node.ns, 'seen')} seen`,
      });

      const add = await node.cni('ADD', node.netconf(), target);
      assert.equal(add.code, 0, add.stdout);
      assert.match(add.stdout, new RegExp(`"${TARGET_IP.replace(/\./g, '\\.')}/32"`));
      assert.equal(await counter(targetNs, 'rx'), 0, 'nothing reached the pod before ADD returned');
      assert.equal(listener.output(), '');

      // The observation window (the test's subject, not a wait): the flood goes on, nothing may get in.
      await sleep(2000);
      assert.equal(await counter(targetNs, 'rx'), 0, 'nothing reached the pod after ADD returned');
      assert.equal(listener.output(), '');
      assert.ok(
        (await counter(node.ns, 'to_cali')) > 0,
        'the flood was routed to the pod interface and dropped',
      );

      // Control: without the policy the same flood gets in.
      await node.backend.delete({ kind: 'NetworkPolicy', namespace: 'iso', name: 'deny-target-ingress' });
      await waitFor(async () => (await counter(targetNs, 'rx')) > 0, {
        timeoutMs: 10_000,
        intervalMs: 25,
        what: 'allowed traffic to arrive once the policy is gone',
      });
      await waitFor(() => /tcp|udp/.test(listener.output()), {
        timeoutMs: 5000,
        intervalMs: 25,
        what: 'the listener to print what arrived',
        describe: () => JSON.stringify(listener.output()),
      });
      assert.match(listener.output(), /(tcp|udp) 10\.71\./);

      flood.proc.kill('SIGKILL');
      listener.proc.kill('SIGKILL');
      for (const env of [target, sender]) assert.equal((await node.cni('DEL', node.netconf(), env)).code, 0);
      const check = await node.ipamProblems();
      assert.equal(check.problems, 0, check.summary);
    });
  });
}
