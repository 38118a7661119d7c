/**
 * The plugins against the real kernel: a node namespace with the agent running, pods in their own
 * namespaces, every CNI command through the installed wrappers. Each test ends with `ipam check` clean.
 * Everything runs twice: through the agent's CNI socket, and with the standalone plugin processes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IpamClient } from '../ipam/allocator.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { workloadInterfaceName } from '../model/k8s-resources.js';
import {
  CNI_MODES,
  CniNode,
  inNs,
  ipPool,
  namespaceObject,
  podObject,
  runner,
  type CniOutput,
} from './testing/harness.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl', 'socat', 'ss']);

function json(out: CniOutput): Record<string, unknown> {
  assert.equal(out.code, 0, `plugin failed: ${out.stdout} ${out.stderr}`);
  return JSON.parse(out.stdout) as Record<string, unknown>;
}

function cniError(out: CniOutput): { code: number; msg: string; details?: string } {
  assert.notEqual(out.code, 0, 'expected a failure');
  return JSON.parse(out.stdout) as { code: number; msg: string; details?: string };
}

for (const mode of CNI_MODES) {
  describe(`calico CNI plugin on a node with the agent (${mode})`, { skip, timeout: 600_000 }, () => {
    const scope = new NetnsScope(runner);
    const node = new CniNode({ nodeName: 'node1', datastore: { type: 'embedded' }, mode });

    before(async () => {
      await node.boot(scope, [
        ipPool('pool-v4', '10.66.0.0/16'),
        ipPool('pool-v6', 'fd66::/48'),
        namespaceObject('default'),
        namespaceObject('shop'),
      ]);
    });

    after(async () => {
      await node[Symbol.asyncDispose]();
      await scope[Symbol.asyncDispose]();
    });

    async function assertIpamClean(): Promise<void> {
      const r = await node.ipamProblems();
      assert.equal(r.problems, 0, r.summary);
    }

    async function pod(name: string, namespace = 'default', containerId = `cid-${name}`) {
      const ns = await scope.namespace();
      return {
        ns,
        env: node.podEnv({ containerId, netns: `/var/run/netns/${ns}`, namespace, pod: name }),
        containerId,
      };
    }

    async function hostLinks(): Promise<string> {
      return inNs(node.ns, 'ip', ['-br', 'link']);
    }

    it('VERSION lists every supported version for both plugins', async () => {
      for (const plugin of ['calico', 'calico-ipam']) {
        const v = json(await node.cni('VERSION', { cniVersion: '1.1.0' }, {}, plugin));
        assert.deepEqual(v['supportedVersions'], [
          '0.1.0',
          '0.2.0',
          '0.3.0',
          '0.3.1',
          '0.4.0',
          '1.0.0',
          '1.1.0',
        ]);
      }
    });

    it('ADD plumbs the pod, records it and returns once the agent has programmed it', async () => {
      await node.put(
        podObject(
          'shop',
          'web-1',
          { app: 'web' },
          { serviceAccountName: 'frontend', ports: [{ name: 'http', containerPort: 8080 }] },
        ),
      );
      const a = await pod('web-1', 'shop');
      const res = json(await node.cni('ADD', node.netconf(), a.env));
      // The endpoint's status file exists by the time ADD returns.
      assert.ok(existsSync(join(node.statusDir, 'shop', 'node1-k8s-web--1-eth0')), 'endpoint status file');
      const ifs = res['interfaces'] as { name: string; mac?: string; sandbox?: string }[];
      assert.equal(ifs[0]?.name, workloadInterfaceName('shop', 'web-1'));
      assert.equal(ifs[0].mac, 'ee:ee:ee:ee:ee:ee');
      assert.equal(ifs[1]?.sandbox, `/var/run/netns/${a.ns}`);
      const ip = ((res['ips'] as { address: string }[])[0]?.address ?? '').split('/')[0] ?? '';
      assert.match(ip, /^10\.66\./);
      // Inside the pod: /32 on eth0, link route to 169.254.1.1 and the default route through it.
      const addr = await inNs(a.ns, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(addr, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/32`));
      const routes = await inNs(a.ns, 'ip', ['route']);
      assert.match(routes, /default via 169\.254\.1\.1 dev eth0/);
      assert.match(routes, /169\.254\.1\.1 dev eth0 scope link/);
      // On the host: the veth with its MAC, sysctls and the /32 route.
      const hostIf = ifs[0].name;
      assert.match(await inNs(node.ns, 'ip', ['route', 'show', `${ip}/32`]), new RegExp(`dev ${hostIf}`));
      assert.equal((await inNs(node.ns, 'sysctl', ['-n', `net.ipv4.conf.${hostIf}.proxy_arp`])).trim(), '1');
      // The WorkloadEndpoint, with the Pod's labels, service account and named port.
      const wep = (await node.backend.get({
        kind: 'WorkloadEndpoint',
        namespace: 'shop',
        name: 'node1-k8s-web--1-eth0',
      })) as unknown as {
        metadata: { labels: Record<string, string> };
        spec: Record<string, unknown>;
      };
      assert.equal(wep.metadata.labels['app'], 'web');
      assert.equal(wep.metadata.labels['projectcalico.org/serviceaccount'], 'frontend');
      assert.deepEqual(wep.spec['profiles'], ['kns.shop', 'ksa.shop.frontend']);
      assert.deepEqual(wep.spec['ipNetworks'], [`${ip}/32`]);
      assert.equal(wep.spec['interfaceName'], hostIf);
      assert.equal(wep.spec['containerID'], a.containerId);
      assert.deepEqual(wep.spec['ports'], [{ name: 'http', protocol: 'TCP', port: 8080 }]);
      // A second pod reaches the first through the host (proxy ARP, /32 routes, the agent's policy).
      const b = await pod('client-1', 'shop');
      json(await node.cni('ADD', node.netconf(), b.env));
      await scope.listen(a.ns, { protocol: 'tcp', address: ip, port: 8080 });
      const probe = await scope.probe(
        b.ns,
        { protocol: 'tcp', address: ip, port: 8080 },
        { timeoutMs: 2000 },
      );
      assert.ok(probe.connected, probe.detail);
      for (const p of [a, b]) assert.equal((await node.cni('DEL', node.netconf(), p.env)).code, 0);
      assert.doesNotMatch(await hostLinks(), /cali/);
      await assertIpamClean();
    });

    it('CHECK passes after ADD and fails once an address or the endpoint is gone', async () => {
      const a = await pod('check-1');
      const prev = json(await node.cni('ADD', node.netconf(), a.env));
      assert.deepEqual(await node.cni('CHECK', { ...node.netconf(), prevResult: prev }, a.env), {
        code: 0,
        stdout: '',
        stderr: '',
      });
      const ip = (prev['ips'] as { address: string }[])[0]?.address ?? '';
      await inNs(a.ns, 'ip', ['addr', 'del', ip, 'dev', 'eth0']);
      const e = cniError(await node.cni('CHECK', { ...node.netconf(), prevResult: prev }, a.env));
      assert.match(e.msg, /address .* is missing/);
      assert.equal((await node.cni('DEL', node.netconf(), a.env)).code, 0);
      await assertIpamClean();
    });

    it('a dual-stack ADD gets /32 and /128 with IPv6 default route via the host link-local', async () => {
      const a = await pod('dual-1');
      const conf = node.netconf({ ipam: { type: 'calico-ipam', assign_ipv4: 'true', assign_ipv6: 'true' } });
      const res = json(await node.cni('ADD', conf, a.env));
      const addrs = (res['ips'] as { address: string }[]).map((i) => i.address);
      assert.equal(addrs.length, 2);
      assert.match(addrs[1] ?? '', /^fd66:.*\/128$/);
      assert.match(await inNs(a.ns, 'ip', ['-6', 'route']), /default via fe80::ecee:eeff:feee:eeee dev eth0/);
      assert.equal((await node.cni('CHECK', { ...conf, prevResult: res }, a.env)).code, 0);
      assert.equal((await node.cni('DEL', conf, a.env)).code, 0);
      await assertIpamClean();
    });

    it('a new sandbox of the same pod takes over; DEL of the old one keeps the endpoint but frees its addresses', async () => {
      const first = await pod('restart-1', 'default', 'sandbox-a');
      const second = await pod('restart-1', 'default', 'sandbox-b');
      json(await node.cni('ADD', node.netconf(), first.env));
      const res2 = json(await node.cni('ADD', node.netconf(), second.env));
      const ipam = new IpamClient(node.backend);
      assert.equal((await ipam.ipsByHandle('k8s-pod-network.sandbox-a')).length, 1);
      assert.equal((await node.cni('DEL', node.netconf(), first.env)).code, 0);
      assert.deepEqual(await ipam.ipsByHandle('k8s-pod-network.sandbox-a'), []);
      const wep = (await node.backend.get({
        kind: 'WorkloadEndpoint',
        namespace: 'default',
        name: 'node1-k8s-restart--1-eth0',
      })) as unknown as {
        spec: { containerID: string; ipNetworks: string[] };
      };
      assert.equal(wep.spec.containerID, 'sandbox-b');
      assert.deepEqual(wep.spec.ipNetworks, [(res2['ips'] as { address: string }[])[0]?.address]);
      assert.equal((await node.cni('CHECK', { ...node.netconf(), prevResult: res2 }, second.env)).code, 0);
      assert.equal((await node.cni('DEL', node.netconf(), second.env)).code, 0);
      await assertIpamClean();
    });

    it('works without a pod identity and answers older config versions in their result format', async () => {
      const ns = await scope.namespace();
      const env = {
        CNI_CONTAINERID: 'abcdef0123456789',
        CNI_NETNS: `/var/run/netns/${ns}`,
        CNI_IFNAME: 'eth0',
      };
      const conf = { ...node.netconf(), cniVersion: '0.3.1' };
      const res = json(await node.cni('ADD', conf, env));
      assert.equal(res['cniVersion'], '0.3.1');
      assert.equal((res['ips'] as { version: string }[])[0]?.version, '4');
      assert.equal((res['interfaces'] as { name: string }[])[0]?.name, 'caliabcdef01234');
      const wep = (await node.backend.get({
        kind: 'WorkloadEndpoint',
        namespace: 'default',
        name: 'node1-cni-abcdef0123456789-eth0',
      })) as unknown as { spec: { profiles: string[]; orchestrator: string } };
      assert.deepEqual([wep.spec.orchestrator, wep.spec.profiles], ['cni', ['k8s-pod-network']]);
      assert.equal((await node.cni('DEL', conf, env)).code, 0);
      // 0.2.0 (also the default when cniVersion is missing): ip4 instead of ips.
      const noVersion = Object.fromEntries(
        Object.entries(node.netconf()).filter(([k]) => k !== 'cniVersion'),
      );
      const legacy = json(await node.cni('ADD', noVersion, env));
      assert.equal(legacy['cniVersion'], '0.2.0');
      assert.match((legacy['ip4'] as { ip: string }).ip, /^10\.66\..*\/32$/);
      assert.equal((await node.cni('DEL', noVersion, env)).code, 0);
      // No pool for the requested family: the ADD fails and leaves nothing.
      const v6only = node.netconf({
        ipam: {
          type: 'calico-ipam',
          assign_ipv4: 'false',
          assign_ipv6: 'true',
          ipv6_pools: ['no-such-pool'],
        },
      });
      const e = cniError(await node.cni('ADD', v6only, env));
      assert.match(e.msg, /no-such-pool|pool/);
      await assertIpamClean();
    });

    it('waits at most policy_setup_timeout_seconds for the agent, then succeeds with a warning', async () => {
      const a = await pod('slow-agent');
      // A status directory the agent never writes: the confirmation never comes.
      const conf = node.netconf({
        policy_setup_timeout_seconds: 1,
        endpoint_status_dir: join(node.dir, 'nowhere', 'endpoint-status'),
      });
      const t0 = Date.now();
      json(await node.cni('ADD', conf, a.env));
      assert.ok(Date.now() - t0 >= 1000, 'ADD waited for the agent');
      assert.match(node.log(), /timed out waiting for the agent to program policy/);
      assert.equal((await node.cni('DEL', conf, a.env)).code, 0);
      await assertIpamClean();
    });

    it('DEL is idempotent: repeated, without a netns, and for a container never added', async () => {
      const a = await pod('del-1');
      json(await node.cni('ADD', node.netconf(), a.env));
      for (let i = 0; i < 2; i++) assert.equal((await node.cni('DEL', node.netconf(), a.env)).code, 0);
      const noNetns = Object.fromEntries(Object.entries(a.env).filter(([k]) => k !== 'CNI_NETNS'));
      assert.equal((await node.cni('DEL', node.netconf(), noNetns)).code, 0);
      const never = await pod('never-added');
      assert.equal((await node.cni('DEL', node.netconf(), never.env)).code, 0);
      await assertIpamClean();
    });

    it('a failure after IPAM undoes everything: addresses, endpoint and veth', async () => {
      const a = await pod('fail-1');
      // The pod already has an eth0, so the veth cannot be created there.
      await inNs(a.ns, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
      const e = cniError(await node.cni('ADD', node.netconf(), a.env));
      assert.equal(e.code, 999);
      assert.deepEqual(
        await new IpamClient(node.backend).ipsByHandle(`k8s-pod-network.${a.containerId}`),
        [],
      );
      const { items } = await node.backend.list({ kind: 'WorkloadEndpoint' });
      assert.deepEqual(
        items.map((w) => w.metadata.name),
        [],
      );
      assert.doesNotMatch(await hostLinks(), /cali/);
      // A netns that does not exist is "container unknown" (code 3), with nothing left behind either.
      const gone = cniError(
        await node.cni('ADD', node.netconf(), { ...a.env, CNI_NETNS: '/var/run/netns/calts-does-not-exist' }),
      );
      assert.equal(gone.code, 3);
      await assertIpamClean();
    });

    it('GC removes attachments that are not valid and keeps the valid ones', async () => {
      const keep = await pod('gc-keep');
      const drop = await pod('gc-drop');
      json(await node.cni('ADD', node.netconf(), keep.env));
      json(await node.cni('ADD', node.netconf(), drop.env));
      const gc = await node.cni(
        'GC',
        {
          ...node.netconf(),
          'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }],
        },
        {},
      );
      assert.deepEqual(gc, { code: 0, stdout: '', stderr: '' });
      const ipam = new IpamClient(node.backend);
      assert.equal((await ipam.ipsByHandle(`k8s-pod-network.${keep.containerId}`)).length, 1);
      assert.deepEqual(await ipam.ipsByHandle(`k8s-pod-network.${drop.containerId}`), []);
      const names = (await node.backend.list({ kind: 'WorkloadEndpoint' })).items.map((w) => w.metadata.name);
      assert.deepEqual(names, ['node1-k8s-gc--keep-eth0']);
      assert.doesNotMatch(await hostLinks(), new RegExp(workloadInterfaceName('default', 'gc-drop')));
      await assertIpamClean();
      assert.equal((await node.cni('DEL', node.netconf(), keep.env)).code, 0);
      await assertIpamClean();
    });

    it('STATUS is ready with a reachable datastore and a live agent, else code 50', async () => {
      assert.deepEqual(await node.cni('STATUS', node.netconf(), {}), { code: 0, stdout: '', stderr: '' });
      const stale = cniError(await node.cni('STATUS', node.netconf({ agent_status_max_age_seconds: 0 }), {}));
      assert.equal(stale.code, 50);
      const unreachable = cniError(
        await node.cni(
          'STATUS',
          node.netconf({ datastore_path: join(node.logFile, 'not-a-dir', 'x.db') }),
          {},
        ),
      );
      assert.equal(unreachable.code, 50);
      // calico-ipam answers STATUS on its own too.
      assert.equal((await node.cni('STATUS', node.netconf(), {}, 'calico-ipam')).code, 0);
      await assertIpamClean();
    });

    it('keeps logs in log_file_path and never on stdout', async () => {
      const log = node.log();
      assert.match(log, /calico: done cmd=ADD/);
      assert.match(log, /calico-ipam: assigned/);
      await assertIpamClean();
    });

    it(`ran the plugins ${mode === 'agent' ? 'inside the agent' : 'as their own processes'}`, () => {
      const pids = node.addPids();
      assert.ok(pids.size > 0);
      if (mode === 'agent') assert.deepEqual([...pids], [node.agentPid]);
      else assert.ok(!pids.has(node.agentPid ?? -1) && pids.size > 10, `pids ${[...pids].join(',')}`);
    });
  });
}
