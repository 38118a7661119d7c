/**
 * Network sets' `allowedEgressDomains` on the real kernel (docs/design/dns-policy.md, calc graph): calico-node
 * in a node namespace, a client pod whose egress is allowed to its DNS server and to the network sets
 * selected by `role == 'saas'`, a GlobalNetworkSet with `allowedEgressDomains: ['*.example.com']` and no
 * nets, a trusted dnsmasq and listeners behind the names. Every probe looks a name up from inside the
 * client pod and connects to the answer at once (the harness of dns-policy.netns.test.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../datastore/index.js';
import { waitFor } from '../lib/async.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, namespaceObject, runner, type TestPod } from './testing.js';
import { dnsmasqSkipReason, gnp, one, probeDns, startDnsmasq } from './testing/dns-kit.js';
import type { DnsProbeResult } from './testing/dns-probe.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip =
  kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built') || dnsmasqSkipReason();

const C = 'projectcalico.org/v3';

function saasSet(domains: string[] | undefined): Resource {
  return {
    apiVersion: C,
    kind: 'GlobalNetworkSet',
    metadata: { name: 'saas', labels: { role: 'saas' } },
    spec: domains === undefined ? {} : { allowedEgressDomains: domains },
  } as Resource;
}

describe(
  "DNS policy on the kernel: a GlobalNetworkSet's allowedEgressDomains through an egress Allow selector",
  { skip },
  () => {
    const h = new AgentHarness();
    const procs: ChildProcess[] = [];
    let client: TestPod;

    const lookup = async (name: string): Promise<DnsProbeResult> =>
      one(
        await probeDns(runner, client.ns, {
          names: [name],
          server: { ip: '10.65.0.53', port: 53 },
          transport: 'udp',
          type: 'A',
          connectPort: 80,
          timeoutMs: 2_000,
        }),
      );

    const connects = async (ip: string): Promise<boolean> =>
      (await h.scope.probe(client.ns, { protocol: 'tcp', address: ip, port: 80 }, { timeoutMs: 1_000 }))
        .connected;

    /** The domain sets the client's egress rules name (`cali40d-...`), from the programmed table. */
    const domainSetsInRules = async (): Promise<string[]> => {
      const text = await h.tableText();
      return [...new Set([...text.matchAll(/daddr @(cali40d-[A-Za-z0-9_-]+)/g)].map((m) => m[1] ?? ''))];
    };

    before(async () => {
      await h.setup();
      h.startAgent();
      client = await h.plumbPod('app', 'client', '10.65.0.10', { app: 'client' });
      const dns = await h.plumbPod('kube-system', 'dns', '10.65.0.53', { app: 'dns' });
      const api = await h.plumbPod('web', 'api', '10.65.0.80', { app: 'web' });
      const www = await h.plumbPod('web', 'www', '10.65.0.81', { app: 'web' });
      const evil = await h.plumbPod('web', 'evil', '10.65.0.66', { app: 'web' });
      procs.push(
        startDnsmasq(dns.ns, [dns.ip], 60, [
          '--address=/api.example.com/10.65.0.80',
          '--address=/www.example.com/10.65.0.81',
          '--address=/evil.test/10.65.0.66',
        ]),
      );
      for (const p of [api, www, evil])
        await h.scope.listen(p.ns, { protocol: 'tcp', address: '0.0.0.0', port: 80 });
      await h.put({
        apiVersion: C,
        kind: 'FelixConfiguration',
        metadata: { name: 'default' },
        spec: { dnsTrustedServers: ['10.65.0.53'] },
      } as Resource);
      for (const ns of ['app', 'kube-system', 'web']) await h.put(namespaceObject(ns));
      for (const p of [client, dns, api, www, evil]) await h.put(h.workloadEndpoint(p));
      await h.put(saasSet(['*.example.com']));
      await h.put(
        gnp('client-egress', {
          order: 10,
          selector: "app == 'client'",
          types: ['Egress'],
          egress: [
            { action: 'Allow', protocol: 'UDP', destination: { selector: "app == 'dns'", ports: [53] } },
            { action: 'Allow', destination: { selector: "role == 'saas'" } },
          ],
        }),
      );
      await h.settle(30_000);
      await waitFor(async () => (await h.tableText()).includes('ct status dnat'), {
        timeoutMs: 15_000,
        what: 'the DNS steering rules',
        describe: () => h.agentLog().split('\n').slice(-8).join('\n'),
      });
      // The DNS path answers end to end (a name outside the set's domains: nothing is learned). On this
      // shared machine the first answers can take many seconds after the steering rules appear.
      await waitFor(async () => (await lookup('evil.test')).addresses.length > 0, {
        timeoutMs: 45_000,
        what: 'the trusted server to answer through the DNS proxy',
        describe: () => h.agentLog().split('\n').slice(-8).join('\n'),
      });
    });

    after(async () => {
      for (const p of procs) p.kill('SIGKILL');
      await h[Symbol.asyncDispose]();
    });

    it("a name matching the set's domains connects right after its lookup; other names are denied", async () => {
      assert.equal((await domainSetsInRules()).length, 1, 'the selector rule names one domain set');
      assert.equal(await connects('10.65.0.80'), false, 'no lookup yet');
      const api = await lookup('api.example.com');
      assert.deepEqual(api.addresses, ['10.65.0.80']);
      assert.equal(api.connected, true, JSON.stringify(api));
      const evil = await lookup('evil.test');
      assert.deepEqual(evil.addresses, ['10.65.0.66']);
      assert.equal(evil.connected, false);
    });

    it('a Deny rule with the same selector does not deny the learned address', async () => {
      await h.put(
        gnp('deny-saas', {
          order: 1,
          selector: "app == 'client'",
          types: ['Egress'],
          egress: [{ action: 'Deny', destination: { selector: "role == 'saas'" } }],
        }),
      );
      await h.settle(30_000);
      assert.match(
        await h.tableText(),
        /ip daddr @cali40s-\S+ counter drop comment "cali:\S+ gnp\/deny-saas rule 0 deny"/,
        'the Deny rule is programmed',
      );
      assert.equal(await connects('10.65.0.80'), true, 'learned before the Deny rule');
      const www = await lookup('www.example.com');
      assert.deepEqual(www.addresses, ['10.65.0.81']);
      assert.equal(www.connected, true, JSON.stringify(www));
    });

    it('removing the domains from the set ends access, for new lookups and for addresses learned before', async () => {
      await h.put(saasSet(undefined));
      await h.settle(30_000);
      assert.deepEqual(await domainSetsInRules(), [], 'no domain set is named any more');
      assert.equal(await connects('10.65.0.80'), false, 'learned before, no longer allowed');
      const api = await lookup('api.example.com');
      assert.deepEqual(api.addresses, ['10.65.0.80'], 'the lookup itself still works');
      assert.equal(api.connected, false, JSON.stringify(api));
      // And giving them back allows again after a lookup.
      await h.put(saasSet(['api.example.com']));
      await h.settle(30_000);
      assert.equal((await lookup('api.example.com')).connected, true);
      assert.equal((await lookup('www.example.com')).connected, false, 'www is not in the new domains');
    });
  },
);
