import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../datastore/index.js';
import { openBackend } from '../datastore/index.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { IpamClient, tunnelHandle } from '../ipam/index.js';
import { vtepMacFor } from '../calc/network-model.js';
import { type HostInterface, parseAutodetectMethod, parseInterfaces, selectAddress } from './autodetect.js';
import { createLogger } from './log.js';
import { loadNetworkConfig } from './network-config.js';
import { getNode } from './node-resource.js';
import { resolveAddress, runNodeStartup, withNodeAddresses } from './node-startup.js';
import { loadStartupConfig } from './startup-config.js';
import { reconcileTunnelAddresses } from './tunnel-address.js';

const IFACES: HostInterface[] = parseInterfaces([
  { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifname: 'cali1234', addr_info: [{ family: 'inet', local: '10.9.9.9', prefixlen: 32 }] },
  { ifname: 'docker0', addr_info: [{ family: 'inet', local: '172.17.0.1', prefixlen: 16 }] },
  {
    ifname: 'eth0',
    addr_info: [
      { family: 'inet', local: '169.254.3.3', prefixlen: 16 },
      { family: 'inet', local: '10.0.1.1', prefixlen: 24 },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
      { family: 'inet6', local: 'fd00::1', prefixlen: 64 },
    ],
  },
  { ifname: 'eth1', addr_info: [{ family: 'inet', local: '192.168.5.5', prefixlen: 24 }] },
  { ifname: 'vxlan.calico', addr_info: [{ family: 'inet', local: '10.244.1.0', prefixlen: 32 }] },
]);

function method(text: string) {
  const m = parseAutodetectMethod(text);
  assert.ok(m.ok, m.ok ? '' : m.error);
  return m.value;
}

describe('address autodetection', () => {
  it('first-found skips excluded interfaces and link-local addresses', () => {
    assert.deepEqual(selectAddress(IFACES, 4, method('first-found')), {
      ip: '10.0.1.1',
      prefix: 24,
      family: 4,
    });
    assert.deepEqual(selectAddress(IFACES, 6, method('')), { ip: 'fd00::1', prefix: 64, family: 6 });
  });

  it('supports interface=, skip-interface=, cidr= and can-reach=', () => {
    assert.equal(selectAddress(IFACES, 4, method('interface=eth1'))?.ip, '192.168.5.5');
    assert.equal(selectAddress(IFACES, 4, method('interface=nomatch,eth.*'))?.ip, '10.0.1.1');
    assert.equal(selectAddress(IFACES, 4, method('skip-interface=eth0'))?.ip, '192.168.5.5');
    assert.equal(selectAddress(IFACES, 4, method('cidr=192.168.0.0/16'))?.ip, '192.168.5.5');
    assert.equal(selectAddress(IFACES, 4, method('can-reach=192.168.5.1'), '192.168.5.5')?.prefix, 24);
    assert.equal(selectAddress(IFACES, 4, method('interface=wlan0')), undefined);
    assert.equal(parseAutodetectMethod('kubernetes-internal-ip').ok, false);
    assert.equal(parseAutodetectMethod('cidr=10.0.0.0/33').ok, false);
  });

  it('resolves IP settings: explicit (prefix looked up), none, keep, autodetect', async () => {
    const ifaces = () => Promise.resolve(IFACES);
    const route = () => Promise.resolve(undefined);
    const ff = method('first-found');
    const r = (kind: 'none' | 'keep' | 'autodetect' | 'keep-or-autodetect', current?: string) =>
      resolveAddress({ kind }, current, 4, ff, ifaces, route);
    assert.equal(
      await resolveAddress({ kind: 'explicit', address: '192.168.5.5' }, undefined, 4, ff, ifaces, route),
      '192.168.5.5/24',
    );
    assert.equal(
      await resolveAddress({ kind: 'explicit', address: '10.7.7.7' }, undefined, 4, ff, ifaces, route),
      '10.7.7.7/32',
    );
    assert.equal(await r('none', '10.0.1.1/24'), undefined);
    assert.equal(await r('keep', '10.5.5.5/16'), '10.5.5.5/16');
    assert.equal(await r('keep-or-autodetect', '10.5.5.5/16'), '10.5.5.5/16');
    assert.equal(await r('keep-or-autodetect'), '10.0.1.1/24');
    assert.equal(await r('autodetect', '10.5.5.5/16'), '10.0.1.1/24');
  });

  it('reads the networking environment', () => {
    const cfg = loadNetworkConfig(
      {
        CALICO_NETWORKING_BACKEND: 'vxlan',
        IP: '10.0.0.5/24',
        IP6: 'autodetect',
        AS: '1.10',
      },
      '/run/x',
    );
    assert.equal(cfg.backend, 'vxlan');
    assert.deepEqual(cfg.ipv4, { kind: 'explicit', address: '10.0.0.5/24' });
    assert.deepEqual(cfg.ipv6, { kind: 'autodetect' });
    assert.equal(cfg.asNumber, 65546);
    assert.equal(cfg.birdSocket, '/run/x/bird.ctl');
    assert.equal(loadNetworkConfig({}, '/r').backend, 'bird');
    assert.throws(
      () => loadNetworkConfig({ CALICO_NETWORKING_BACKEND: 'gobgp' }, '/r'),
      /CALICO_NETWORKING_BACKEND/,
    );
    assert.throws(() => loadNetworkConfig({ IP: 'fd00::1' }, '/r'), /IP: invalid IPv4/);
  });

  it('writes the addresses into the node spec, keeping what is not ours', () => {
    const spec = withNodeAddresses(
      {
        bgp: { ipv4Address: '10.9.9.9/24', routeReflectorClusterID: '1.0.0.1' },
        addresses: [
          { address: '10.9.9.9/24', type: 'CalicoNodeIP' },
          { address: '203.0.113.1', type: 'ExternalIP' },
        ],
      },
      '10.0.1.1/24',
      undefined,
      64513,
    );
    assert.deepEqual(spec, {
      bgp: { ipv4Address: '10.0.1.1/24', routeReflectorClusterID: '1.0.0.1', asNumber: 64513 },
      addresses: [
        { address: '10.0.1.1/24', type: 'CalicoNodeIP' },
        { address: '203.0.113.1', type: 'ExternalIP' },
      ],
    });
    assert.deepEqual(
      withNodeAddresses({ bgp: { ipv4Address: '10.0.0.1/24' } }, undefined, undefined, undefined),
      {},
    );
  });
});

describe('node startup against a datastore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-startup-'));
  let backend: Backend;
  const log = createLogger('error');
  const runner = new FakeCommandRunner().on(
    { cmd: 'ip', args: ['-j', 'addr', 'show'] },
    {
      stdout: JSON.stringify([
        { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
        { ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.1.1', prefixlen: 24 }] },
      ]),
    },
  );

  before(async () => {
    backend = await openBackend({ datastoreType: 'embedded', datastorePath: join(dir, 'calico.db') });
  });

  after(async () => {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deps = (env: Record<string, string>) => ({
    backend,
    runner,
    log,
    nodeName: 'node1',
    net: loadNetworkConfig(env, dir),
    startup: loadStartupConfig(env, { name: 'node1', source: 'NODENAME' }),
    nodenameFile: join(dir, 'nodename'),
    calicoVersion: 'v0.0.1-test',
  });

  it('registers the node, creates the default pool and a VXLAN tunnel address with its VTEP MAC', async () => {
    const env = { CALICO_IPV4POOL_CIDR: '10.244.0.0/16', CALICO_IPV4POOL_VXLAN: 'Always', AS: '64600' };
    const r = await runNodeStartup(deps(env));
    assert.equal(r.ipv4, '10.0.1.1/24');
    assert.deepEqual(r.poolsCreated, ['default-ipv4-ippool']);
    const node = await getNode(backend, 'node1');
    assert.ok(node !== undefined);
    assert.deepEqual(
      {
        ipv4Address: node.spec.bgp?.ipv4Address,
        asNumber: node.spec.bgp?.asNumber,
        vxlan: node.spec.ipv4VXLANTunnelAddr,
        mac: node.spec.vxlanTunnelMACAddr,
      },
      { ipv4Address: '10.0.1.1/24', asNumber: 64600, vxlan: r.tunnel.vxlan, mac: vtepMacFor('node1') },
    );
    assert.ok(r.tunnel.vxlan?.startsWith('10.244.'));
    const ipam = new IpamClient(backend);
    assert.deepEqual(await ipam.ipsByHandle(tunnelHandle('vxlan', 'node1')), [r.tunnel.vxlan]);
    const attrs = await ipam.getAssignmentAttributes(r.tunnel.vxlan ?? '');
    assert.deepEqual(attrs?.activeOwnerAttrs, { node: 'node1', type: 'vxlanTunnelAddress' });

    // A restart keeps the same address (a stable VTEP), and IP unset keeps the registered address.
    const again = await runNodeStartup(deps({}));
    assert.equal(again.tunnel.vxlan, r.tunnel.vxlan);
    assert.equal(again.ipv4, '10.0.1.1/24');
  });

  it('releases the tunnel address when no pool uses VXLAN any more', async () => {
    const pool = await backend.get({ kind: 'IPPool', name: 'default-ipv4-ippool' });
    await backend.update({
      ...pool,
      spec: { ...(pool as unknown as { spec: object }).spec, vxlanMode: 'Never' },
    } as typeof pool);
    const t = await reconcileTunnelAddresses(backend, 'node1');
    assert.deepEqual(t, { vxlan: undefined, ipip: undefined });
    assert.equal((await getNode(backend, 'node1'))?.spec.ipv4VXLANTunnelAddr, undefined);
    assert.deepEqual(await new IpamClient(backend).ipsByHandle(tunnelHandle('vxlan', 'node1')), []);
    // IPIP pools get an IPIP tunnel address on spec.bgp.
    const p2 = await backend.get({ kind: 'IPPool', name: 'default-ipv4-ippool' });
    await backend.update({
      ...p2,
      spec: { ...(p2 as unknown as { spec: object }).spec, ipipMode: 'CrossSubnet' },
    } as typeof p2);
    const t2 = await reconcileTunnelAddresses(backend, 'node1');
    assert.ok(t2.ipip?.startsWith('10.244.'));
    assert.equal((await getNode(backend, 'node1'))?.spec.bgp?.ipv4IPIPTunnelAddr, t2.ipip);
  });
});
