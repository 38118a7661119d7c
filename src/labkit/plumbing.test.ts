import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import {
  HAIRPIN_TABLE,
  hostInterfaceSysctls,
  hostUpBatch,
  nodeUplinkBatches,
  podBatch,
  outsideBatches,
  podSysctls,
  rackBatch,
  vethBatch,
  wirePod,
  type PodWiring,
} from './plumbing.js';
import { nodeAddresses } from './topology.js';

const v4: PodWiring = {
  nodeNs: 'calts-n',
  podNs: 'calts-p',
  hostIfname: 'cali0123456789a',
  ip: '10.244.1.10',
  family: 4,
};
const v6: PodWiring = { ...v4, ip: 'fd00::af4:10a', family: 6 };

describe('pod plumbing commands', () => {
  test('IPv4: /32 on eth0, link route to 169.254.1.1 and default through it, node route to the veth', () => {
    assert.deepEqual(vethBatch(v4).lines, [
      'link add cali0123456789a address ee:ee:ee:ee:ee:ee type veth peer name eth0 netns calts-p',
    ]);
    const pod = podBatch(v4);
    assert.equal(pod.ns, 'calts-p');
    assert.equal(pod.family, 4);
    assert.deepEqual(pod.lines.slice(0, 4), [
      'addr add 10.244.1.10/32 dev eth0',
      'link set eth0 up',
      'route add 169.254.1.1/32 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
    ]);
    assert.deepEqual(hostUpBatch(v4).lines, [
      'link set cali0123456789a up',
      'route replace 10.244.1.10/32 dev cali0123456789a scope link',
    ]);
    assert.ok(hostInterfaceSysctls(v4).includes('net.ipv4.conf.cali0123456789a.proxy_arp=1'));
    assert.ok(hostInterfaceSysctls(v4).includes('net.ipv4.neigh.cali0123456789a.proxy_delay=0'));
  });

  test('IPv6: /128 without DAD, default via the host side link-local address', () => {
    const pod = podBatch(v6);
    assert.equal(pod.family, 6);
    assert.deepEqual(pod.lines.slice(0, 3), [
      'addr add fd00::af4:10a/128 dev eth0 nodad',
      'link set eth0 up',
      'route add default via fe80::ecee:eeff:feee:eeee dev eth0',
    ]);
    assert.deepEqual(hostUpBatch(v6).lines.at(-1), 'route replace fd00::af4:10a/128 dev cali0123456789a');
    assert.ok(hostInterfaceSysctls(v6).includes('net.ipv6.conf.cali0123456789a.accept_dad=0'));
    assert.ok(podSysctls(v6).includes('net.ipv6.conf.eth0.accept_dad=0'));
  });

  test('hairpin: own address via the gateway from a table ahead of the moved local rule', () => {
    for (const [w, gw, cidr] of [
      [v4, '169.254.1.1', '10.244.1.10/32'],
      [v6, 'fe80::ecee:eeff:feee:eeee', 'fd00::af4:10a/128'],
    ] as const) {
      assert.deepEqual(podBatch(w).lines.slice(-4), [
        `route add ${cidr} via ${gw} dev eth0 onlink table ${HAIRPIN_TABLE}`,
        `rule add pref 10 iif lo to ${cidr} lookup ${HAIRPIN_TABLE}`,
        'rule add pref 100 lookup local',
        'rule del pref 0 lookup local',
      ]);
    }
    assert.ok(podSysctls(v4).includes('net.ipv4.conf.eth0.accept_local=1'));
    assert.ok(podSysctls(v4).includes('net.ipv4.conf.eth0.rp_filter=0'));
  });

  test('wirePod runs the steps in order, replacing an old host veth, and returns the pod MAC', async () => {
    const fake = new FakeCommandRunner()
      .on(
        { cmd: 'ip', argsPrefix: ['-n', 'calts-n', 'link', 'del'] },
        { code: 1, stderr: 'Cannot find device' },
      )
      .on({ cmd: 'ip', argsPrefix: ['-4'] }, {})
      .on({ cmd: 'ip', argsPrefix: ['netns', 'exec'] }, {})
      .on(
        { cmd: 'ip', argsPrefix: ['-j', '-n', 'calts-p', 'link', 'show'] },
        { stdout: '[{"ifname":"eth0","address":"aa:bb:cc:dd:ee:ff"}]' },
      );
    assert.equal(await wirePod(fake, v4), 'aa:bb:cc:dd:ee:ff');
    const steps = fake.calls.map((c) =>
      c.args[0] === 'netns'
        ? `sysctl@${c.args[2]}`
        : c.stdin !== undefined
          ? `batch@${c.args[2]}`
          : c.args.join(' '),
    );
    assert.deepEqual(steps, [
      '-n calts-n link del cali0123456789a',
      'batch@calts-n',
      'sysctl@calts-n',
      'sysctl@calts-p',
      'batch@calts-p',
      'batch@calts-n',
      '-j -n calts-p link show dev eth0',
    ]);
    fake.clearCalls();
    fake.on(
      { cmd: 'ip', argsPrefix: ['-n', 'calts-n', 'link', 'del'] },
      { code: 2, stderr: 'RTNETLINK: busy' },
    );
    await assert.rejects(wirePod(fake, v4), /cannot delete old cali0123456789a/);
  });
});

describe('node network', () => {
  test('fabric addresses per node index and rack', () => {
    assert.deepEqual(nodeAddresses(1), { v4: '172.31.1.1', v6: 'fd5c:a1c0:1::1' });
    assert.deepEqual(nodeAddresses(20, 2), { v4: '172.31.2.20', v6: 'fd5c:a1c0:2::14' });
    assert.throws(() => nodeAddresses(0), /out of range/);
    assert.throws(() => nodeAddresses(251), /out of range/);
    assert.throws(() => nodeAddresses(1, 10), /rack 10 out of range/);
  });

  test('the uplink joins the rack bridge and gives the node default routes for both families', () => {
    const [fabric, node, node6] = nodeUplinkBatches('calts-f', 'calts-n', 2, 2);
    assert.equal(fabric?.ns, 'calts-f');
    assert.ok(fabric.lines.includes('link set node2 master rack2'));
    assert.ok(node?.lines.includes('addr add 172.31.2.2/24 dev eth0'));
    assert.ok(node?.lines.includes('route add default via 172.31.2.254 dev eth0'));
    assert.deepEqual(node6, {
      ns: 'calts-n',
      family: 6,
      lines: ['route add default via fd5c:a1c0:2::fffe dev eth0'],
    });
  });

  test('racks are bridges with the gateway addresses; the outside hangs off the fabric', () => {
    assert.deepEqual(rackBatch('calts-f', 3).lines, [
      'link add rack3 type bridge',
      'addr add 172.31.3.254/24 dev rack3',
      'addr add fd5c:a1c0:3::fffe/64 dev rack3 nodad',
      'link set rack3 up',
    ]);
    const [fabric, outside] = outsideBatches('calts-f', 'calts-o');
    assert.ok(fabric?.lines.includes('addr add 203.0.113.254/24 dev out0'));
    assert.deepEqual(outside?.lines, [
      'addr add 203.0.113.10/24 dev eth0',
      'link set eth0 up',
      'route add default via 203.0.113.254 dev eth0',
    ]);
  });

  test('a veth with an MTU sets it on both ends', () => {
    assert.deepEqual(vethBatch({ ...v4, mtu: 1450 }).lines, [
      'link add cali0123456789a address ee:ee:ee:ee:ee:ee mtu 1450 type veth peer name eth0 mtu 1450 netns calts-p',
    ]);
  });
});
