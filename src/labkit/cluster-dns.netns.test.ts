/**
 * The lab's cluster DNS on the real kernel (root and dnsmasq only; skipped with the reason otherwise), no
 * agent, no policy: dnsmasq in kube-system/coredns answers the lab's zone to a pod's lookups made from the
 * pod's namespace through its resolv.conf (A, a CNAME chain, NXDOMAIN, an empty AAAA, the TTL asked for), a
 * probe takes a name (looked up first), the outside carries the names' addresses, the lab's own datastore
 * trusts the server, dnsmasq is recognised after a restart of the lab's process and stops with the lab.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { processExists } from '../sys/process.js';
import { LabCluster } from './cluster.js';
import { CLUSTER_DNS_KEY, clusterDnsUnavailableReason } from './cluster-dns.js';
import { STATIC_CLUSTER_DNS_IP } from './dns-zone.js';
import { kernelTestSkipReason, runChecked } from './netns.js';
import { clusterDnsFiles } from './paths.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack']) || clusterDnsUnavailableReason();
const runner = new NodeCommandRunner();

describe('the cluster DNS (dnsmasq in kube-system/coredns) on the real kernel', { skip }, () => {
  let lab: LabCluster;
  let dnsPid = 0;
  before(async () => {
    lab = await LabCluster.create({ runner, agentEntry: null, keepRunDir: false });
    await lab.addNode('node-1');
    await lab.addNode('node-2');
    await lab.addOutside({ ports: [80] });
    await lab.addPod('node-1', { namespace: 'x', name: 'a', ip: '10.244.1.10', ports: [80] });
    assert.equal(await lab.addClusterDns({ ttl: 7 }), STATIC_CLUSTER_DNS_IP);
    dnsPid = lab.state.clusterDns?.pid ?? 0;
  });
  after(() => lab.destroy());

  test('the pod kube-system/coredns (k8s-app: kube-dns) on the last node runs our dnsmasq', () => {
    const pod = lab.pod(CLUSTER_DNS_KEY);
    assert.equal(pod.node, 'node-2');
    assert.deepEqual(pod.labels, { 'k8s-app': 'kube-dns' });
    assert.ok(lab.clusterDnsRunning());
    const resolv = readFileSync(clusterDnsFiles(lab.runDir).resolvConf, 'utf8');
    assert.match(resolv, new RegExp(`^nameserver ${STATIC_CLUSTER_DNS_IP.replace(/\./g, '\\.')}$`, 'm'));
  });

  test("a pod's lookups cross its node to the DNS pod: A, CNAME chain, NXDOMAIN, empty AAAA, TTL", async () => {
    const api = await lab.resolve('x/a', 'api.example.com');
    assert.equal(api.verdict, 'allowed', api.detail);
    assert.equal(api.server, `${STATIC_CLUSTER_DNS_IP}:53`);
    assert.equal(api.rcode, 'NOERROR');
    assert.deepEqual(api.addresses, ['203.0.113.20']);
    assert.deepEqual(api.records, [{ name: 'api.example.com', type: 'A', ttl: 7, data: '203.0.113.20' }]);
    const cdn = await lab.resolve('x/a', 'CDN.example.com.');
    assert.deepEqual(cdn.addresses, ['203.0.113.22']);
    assert.deepEqual(
      cdn.records?.map((r) => `${r.name} ${r.type} ${r.data}`),
      ['cdn.example.com CNAME edge.cdn-provider.test', 'edge.cdn-provider.test A 203.0.113.22'],
    );
    assert.deepEqual((await lab.resolve('x/a', 'evil.test')).addresses, ['203.0.113.66']);
    const none = await lab.resolve('x/a', 'nope.example.com');
    assert.equal(none.rcode, 'NXDOMAIN');
    assert.deepEqual(none.addresses, []);
    const v6 = await lab.resolve('x/a', 'api.example.com', { type: 'AAAA' });
    assert.equal(v6.rcode, 'NOERROR');
    assert.deepEqual(v6.addresses, []);
  });

  test('a probe takes a name: looked up from the pod, then connected to the answer', async () => {
    // A static lab has no natOutgoing: the outside cannot answer a pod, so the connect is no-route; the
    // lookup before it went through.
    const o = await lab.probe('x/a', { to: 'www.example.com', protocol: 'tcp', port: 80, timeoutMs: 500 });
    assert.match(o.detail, /^www\.example\.com is 203\.0\.113\.21 \(NOERROR from 10\.96\.0\.10:53\)/);
    assert.equal(o.verdict, 'no-route', o.detail);
    const missing = await lab.probe('x/a', { to: 'nope.example.com', protocol: 'tcp', port: 80 });
    assert.equal(missing.verdict, 'error');
    assert.match(missing.detail, /nope\.example\.com: NXDOMAIN from .*, no address/);
    // The outside serves every name's address.
    const fromOutside = await lab.probe('outside', { to: '203.0.113.66', protocol: 'tcp', port: 80 });
    assert.equal(fromOutside.verdict, 'allowed', fromOutside.detail);
    // A UDP probe that is a DNS query: the DNS pod answers queries, not echo.
    const q = await lab.probe('x/a', {
      to: CLUSTER_DNS_KEY,
      protocol: 'udp',
      port: 53,
      dnsQuery: 'api.example.com',
    });
    assert.equal(q.verdict, 'allowed', q.detail);
  });

  test("the lab's datastore trusts the DNS pod (FelixConfiguration default dnsTrustedServers)", async () => {
    const fc = (await lab.datastore.get({ kind: 'FelixConfiguration', name: 'default' })) as unknown as {
      spec: { dnsTrustedServers?: string[] };
    };
    assert.deepEqual(fc.spec.dnsTrustedServers, [`${STATIC_CLUSTER_DNS_IP}:53`]);
  });

  test('a later process recognises dnsmasq by pid and configuration; again is a no-op', async () => {
    const again = await LabCluster.attach(lab.runDir, { runner });
    try {
      assert.ok(again.clusterDnsRunning());
      await again.addClusterDns();
      assert.equal(again.state.clusterDns?.pid, dnsPid);
      assert.equal((await again.resolve('x/a', 'api.example.com')).rcode, 'NOERROR');
    } finally {
      await again.detach();
    }
  });

  test('dnsmasq stops with its pod', async () => {
    assert.ok(processExists(dnsPid));
    await lab.removePod(CLUSTER_DNS_KEY);
    assert.equal(processExists(dnsPid), false);
    assert.equal(lab.clusterDnsRunning(), false);
    const out = await runChecked(runner, 'ip', ['-n', lab.netnsOf('outside'), '-4', '-o', 'addr', 'show']);
    for (const a of ['203.0.113.20', '203.0.113.21', '203.0.113.22', '203.0.113.66'])
      assert.match(out, new RegExp(`inet ${a.replace(/\./g, '\\.')}/32`));
  });
});
