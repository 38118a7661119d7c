/**
 * `calico` first in a chain with Debian's reference `portmap` and `bandwidth` plugins, driven by the
 * conflist runner (prevResult passed from plugin to plugin, capabilities as runtimeConfig): the chained
 * plugins find the pod's interfaces and addresses in calico's result, the host port forwards to the pod,
 * CHECK passes through the whole chain, and DEL in reverse removes everything.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { conflistAdd, conflistCheck, conflistDel, type Attachment } from './runtime.js';
import { CniNode, inNs, ipPool, namespaceObject, runner } from './testing/harness.js';

const REF_PLUGINS = '/usr/lib/cni';
const skip =
  kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl', 'socat', 'ss', 'iptables', 'tc']) ||
  (['portmap', 'bandwidth'].every((p) => existsSync(`${REF_PLUGINS}/${p}`))
    ? false
    : `reference CNI plugins missing in ${REF_PLUGINS} (apt-get install containernetworking-plugins)`);

describe('calico chained with portmap and bandwidth', { skip, timeout: 300_000 }, () => {
  const scope = new NetnsScope(runner);
  const node = new CniNode({ nodeName: 'node1', datastore: { type: 'embedded' } });

  before(async () => {
    await node.boot(scope, [
      ipPool('pool-v4', '10.70.0.0/16'),
      ipPool('pool-v6', 'fd70::/48'),
      namespaceObject('default'),
    ]);
  });

  after(async () => {
    await node[Symbol.asyncDispose]();
    await scope[Symbol.asyncDispose]();
  });

  it('ADD, CHECK and DEL run through the chain with prevResult', async () => {
    // Debian's plugins speak up to 1.0.0.
    const list = node.conflist(
      [
        node.pluginConf({ ipam: { type: 'calico-ipam', assign_ipv4: 'true', assign_ipv6: 'true' } }),
        { type: 'portmap', snat: true, capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
      '1.0.0',
    );
    const podNs = await scope.namespace();
    const att: Attachment = {
      containerId: 'chain-1',
      netns: `/var/run/netns/${podNs}`,
      ifname: 'eth0',
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'chained' },
      capabilityArgs: {
        portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
        bandwidth: {
          ingressRate: 8_000_000,
          ingressBurst: 800_000,
          egressRate: 8_000_000,
          egressBurst: 800_000,
        },
      },
    };
    const opts = node.runtime([REF_PLUGINS]);
    const result = (await conflistAdd(list, att, opts)) as {
      cniVersion: string;
      interfaces: { name: string; sandbox?: string }[];
      ips: { address: string }[];
    };
    assert.equal(result.cniVersion, '1.0.0');
    const hostIf = result.interfaces.find((i) => i.sandbox === undefined)?.name ?? '';
    assert.match(hostIf, /^cali[0-9a-f]{11}$/);
    const podIp = result.ips[0]?.address.split('/')[0] ?? '';

    // portmap: DNAT rules for the host port, and the port really forwards to the pod.
    assert.equal(result.ips.length, 2);
    assert.match(await inNs(node.ns, 'iptables', ['-t', 'nat', '-S']), /--dport 18080/);
    await scope.listen(podNs, { protocol: 'tcp', address: podIp, port: 8080 });
    const viaHostPort = await scope.probe(
      node.ns,
      { protocol: 'tcp', address: '198.18.1.1', port: 18080 },
      { timeoutMs: 2000 },
    );
    assert.ok(viaHostPort.connected, viaHostPort.detail);
    // bandwidth: a token bucket on the host veth (pod ingress) and an ifb device for pod egress.
    assert.match(await inNs(node.ns, 'tc', ['qdisc', 'show', 'dev', hostIf]), /tbf/);
    assert.match(await inNs(node.ns, 'ip', ['-br', 'link']), /bwp/);

    // CHECK through the chain, except portmap: Debian's portmap (1.1.1) checks its IPv4 rules in ip6tables
    // and fails for every pod with an IPv4 address (containernetworking/plugins#819).
    await conflistCheck(
      { ...list, plugins: list.plugins.filter((p) => p['type'] !== 'portmap') },
      att,
      result,
      opts,
    );

    await conflistDel(list, att, result, opts);
    const links = await inNs(node.ns, 'ip', ['-br', 'link']);
    assert.doesNotMatch(links, /cali|bwp/);
    assert.doesNotMatch(await inNs(node.ns, 'iptables', ['-t', 'nat', '-S']), /--dport 18080/);
    // DEL again (a runtime may repeat it) is still fine for every plugin.
    await conflistDel(list, att, result, opts);
    const check = await node.ipamProblems();
    assert.equal(check.problems, 0, check.summary);
  });
});
