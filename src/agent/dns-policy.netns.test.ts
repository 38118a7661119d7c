/**
 * DNS policy on the real kernel (docs/design/dns-policy.md): calico-node in a node namespace, a client pod whose
 * egress is allowed only to its DNS servers and to `*.example.com`, real dnsmasq servers in pods (trusted,
 * trusted with a 3 s TTL, and an untrusted one), and listeners behind the names. Every probe looks a name up
 * from inside the client pod and connects to the answer at once: the first connection after a lookup must
 * succeed (DelayDNSResponse), names outside the policy and answers of untrusted servers must not open anything.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../datastore/index.js';
import { waitFor } from '../lib/async.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, namespaceObject, runner, type TestPod } from './testing.js';
import { dnsmasqSkipReason, gnp, one, probeDns, startDnsmasq } from './testing/dns-kit.js';
import type { DnsProbeRequest, DnsProbeResult } from './testing/dns-probe.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip =
  kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built') || dnsmasqSkipReason();

const C = 'projectcalico.org/v3';
const BULK = 1000;
const V6 = { client: 'fd65::10', dns: 'fd65::53', web: 'fd65::80', evil: 'fd65::66' } as const;
/** The link-local address of a host-side veth with Calico's MAC ee:ee:ee:ee:ee:ee. */
const HOST_LL = 'fe80::ecee:eeff:feee:eeee';
/** A "trusted" server that answers every query with a record whose name is a compression pointer to itself. */
const BAD_SERVER = `
const d = require('node:dgram').createSocket('udp4');
d.on('message', (m, r) => {
  const b = Buffer.from(m);
  b[2] |= 0x80;
  b.writeUInt16BE(1, 6);
  const off = b.length;
  const rr = Buffer.from([0xc0 | (off >> 8), off & 0xff, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 65, 0, 66]);
  d.send(Buffer.concat([b, rr]), r.port, r.address);
  d.send(Buffer.from([1, 2, 3]), r.port, r.address);
});
d.bind(53, '10.65.0.56');
`;
const FETCH = `
fetch(process.argv[1]).then(async (r) => console.log(await r.text())).catch((e) => console.log(String(e.cause ?? e)));
`;
const BULK_SERVER =
  "require('node:net').createServer((s) => s.end()).listen({ host: '0.0.0.0', port: 8080, backlog: 4096 })";

describe(
  'DNS policy on the kernel: names learned from trusted answers, first connection succeeds',
  { skip },
  () => {
    const h = new AgentHarness();
    const procs: ChildProcess[] = [];
    let client: TestPod;

    const dnsmasq = (pod: TestPod, ttl: number, extra: string[]): void => {
      const v6 = extra
        .filter((e) => e.startsWith('--listen-address='))
        .map((e) => e.slice('--listen-address='.length));
      procs.push(
        startDnsmasq(
          pod.ns,
          [pod.ip, ...v6],
          ttl,
          extra.filter((e) => !e.startsWith('--listen-address=')),
        ),
      );
    };

    const v6Of = new Map<string, string>();
    /** An IPv6 address for a pod, routed as Calico does (host veth link-local as the gateway). */
    const addV6 = async (p: TestPod, addr: string): Promise<void> => {
      v6Of.set(p.ip, addr);
      await runner.run('ip', ['-n', p.ns, 'addr', 'add', `${addr}/128`, 'dev', 'eth0', 'nodad']);
      await runner.run('ip', ['-n', p.ns, '-6', 'route', 'add', 'default', 'via', HOST_LL, 'dev', 'eth0']);
      await runner.run('ip', ['-n', h.node, '-6', 'route', 'add', `${addr}/128`, 'dev', p.iface]);
    };

    const lookup = async (req: Partial<DnsProbeRequest> & { names: string[] }): Promise<DnsProbeResult[]> => {
      const full: DnsProbeRequest = {
        server: { ip: '10.65.0.53', port: 53 },
        transport: 'udp',
        type: 'A',
        connectPort: 80,
        timeoutMs: 2_000,
        ...req,
      };
      return probeDns(runner, client.ns, full);
    };

    const connects = async (ip: string): Promise<boolean> =>
      (await h.scope.probe(client.ns, { protocol: 'tcp', address: ip, port: 80 }, { timeoutMs: 1_000 }))
        .connected;

    before(async () => {
      await h.setup();
      await runner.run('ip', ['-n', h.node, 'addr', 'add', '2001:db8:1::1/64', 'dev', 'uplink', 'nodad']);
      h.startAgent({ FELIX_PROMETHEUSMETRICSENABLED: 'true', IP6: 'autodetect' });
      client = await h.plumbPod('app', 'client', '10.65.0.10', { app: 'client' });
      const dns = await h.plumbPod('kube-system', 'dns', '10.65.0.53', { app: 'dns' });
      const dnsShort = await h.plumbPod('kube-system', 'dns-short', '10.65.0.55', { app: 'dns' });
      const rogue = await h.plumbPod('other', 'rogue', '10.65.0.54', { app: 'dns' });
      const bad = await h.plumbPod('kube-system', 'bad-dns', '10.65.0.56', { app: 'dns' });
      const web = await h.plumbPod('web', 'web', '10.65.0.80', { app: 'web' });
      const cdn = await h.plumbPod('web', 'cdn', '10.65.0.81', { app: 'web' });
      const evil = await h.plumbPod('web', 'evil', '10.65.0.66', { app: 'web' });
      const short = await h.plumbPod('web', 'short', '10.65.0.82', { app: 'web' });
      // The bulk names' addresses: 10.66.0.0/22, all delivered to the web pod, routed via its own address so
      // the node needs one neighbour entry, not a thousand (the neighbour table is shared by every namespace).
      await runner.run('ip', [
        '-n',
        h.node,
        'route',
        'add',
        '10.66.0.0/22',
        'via',
        web.ip,
        'dev',
        web.iface,
        'onlink',
      ]);
      await runner.run('ip', ['-n', web.ns, 'route', 'add', 'local', '10.66.0.0/22', 'dev', 'lo']);
      const hosts = join(h.dir, 'bulk.hosts');
      writeFileSync(
        hosts,
        Array.from(
          { length: BULK },
          (_, i) => `10.66.${Math.floor(i / 250)}.${(i % 250) + 1} n${i}.bulk.example.com`,
        ).join('\n') + '\n',
      );
      for (const [p, a] of [
        [client, V6.client],
        [dns, V6.dns],
        [web, V6.web],
        [evil, V6.evil],
      ] as const) {
        await addV6(p, a);
        if (p !== client && p !== dns) await h.scope.listen(p.ns, { protocol: 'tcp', address: a, port: 80 });
      }
      dnsmasq(dns, 60, [
        '--address=/api.example.com/10.65.0.80',
        `--address=/api.example.com/${V6.web}`,
        '--address=/evil.test/10.65.0.66',
        `--address=/evil.test/${V6.evil}`,
        '--host-record=edge.cdn.test,10.65.0.81',
        '--cname=www.example.com,edge.cdn.test',
        `--addn-hosts=${hosts}`,
        `--listen-address=${V6.dns}`,
      ]);
      dnsmasq(dnsShort, 3, ['--address=/short.example.com/10.65.0.82']);
      dnsmasq(rogue, 60, ['--address=/poisoned.example.com/10.65.0.66']);
      procs.push(
        spawn('ip', ['netns', 'exec', bad.ns, process.execPath, '-e', BAD_SERVER], { stdio: 'ignore' }),
      );
      // The bulk names' listener: one process with a deep accept queue (1,000 connections arrive at once).
      procs.push(
        spawn('ip', ['netns', 'exec', web.ns, process.execPath, '-e', BULK_SERVER], { stdio: 'ignore' }),
      );
      for (const p of [web, cdn, evil, short])
        await h.scope.listen(p.ns, { protocol: 'tcp', address: '0.0.0.0', port: 80 });
      await h.put({
        apiVersion: C,
        kind: 'FelixConfiguration',
        metadata: { name: 'default' },
        spec: {
          dnsTrustedServers: ['10.65.0.53', '10.65.0.55:53', '10.65.0.56', `[${V6.dns}]:53`],
          dnsLogsFlushInterval: '1s',
        },
      } as Resource);
      for (const ns of ['app', 'kube-system', 'other', 'web']) await h.put(namespaceObject(ns));
      for (const p of [client, dns, dnsShort, rogue, bad, web, cdn, evil, short]) {
        const wep = h.workloadEndpoint(p) as Resource & { spec: { ipNetworks: string[] } };
        const v6 = v6Of.get(p.ip);
        if (v6 !== undefined) wep.spec.ipNetworks.push(`${v6}/128`);
        await h.put(wep);
      }
      await h.put(
        gnp('client-egress', {
          selector: "app == 'client'",
          types: ['Egress'],
          egress: [
            { action: 'Allow', protocol: 'UDP', destination: { selector: "app == 'dns'", ports: [53] } },
            { action: 'Allow', protocol: 'TCP', destination: { selector: "app == 'dns'", ports: [53] } },
            { action: 'Allow', destination: { domains: ['*.example.com'] } },
          ],
        }),
      );
      await h.settle(30_000);
      await waitFor(async () => (await h.tableText()).includes('ip daddr 10.65.0.53 th dport 53'), {
        timeoutMs: 15_000,
        what: 'the DNS steering rules',
        describe: () => h.agentLog().split('\n').slice(-8).join('\n'),
      });
      // Every server answers (dnsmasq has started) through the steered path; evil.test teaches nothing.
      for (const ip of ['10.65.0.53', '10.65.0.55'])
        await waitFor(
          async () =>
            one(
              await lookup({
                names: ['evil.test'],
                server: { ip, port: 53 },
                connectPort: 0,
                timeoutMs: 1_000,
              }),
            ).rcode !== undefined,
          {
            timeoutMs: 45_000,
            what: `${ip} to answer through the DNS proxy`,
            describe: () => h.agentLog().split('\n').slice(-8).join('\n'),
          },
        );
    });

    after(async () => {
      for (const p of procs) p.kill('SIGKILL');
      await h[Symbol.asyncDispose]();
    });

    it('an allowed name connects right after its lookup; before the lookup and other names are denied', async () => {
      assert.equal(await connects('10.65.0.80'), false, 'no lookup yet');
      const api = one(await lookup({ names: ['api.example.com'] }));
      assert.deepEqual(api.addresses, ['10.65.0.80']);
      assert.equal(api.connected, true, JSON.stringify(api));
      const evil = one(await lookup({ names: ['evil.test'] }));
      assert.deepEqual(evil.addresses, ['10.65.0.66']);
      assert.equal(evil.connected, false);
      assert.match(await h.tableText(), /cali40d-[^\n]*\n[^}]*10\.65\.0\.80 timeout/);
    });

    it('IPv6: an AAAA answer through the IPv6 trusted server allows exactly the learned address', async () => {
      const server = { ip: V6.dns, port: 53 };
      // The pods' IPv6 gateway answers once its link-local address has passed duplicate address detection.
      await waitFor(
        async () =>
          one(await lookup({ names: ['evil.test'], server, type: 'AAAA', connectPort: 0 })).addresses
            .length === 1,
        {
          timeoutMs: 15_000,
          what: 'an IPv6 lookup from the client pod',
          describe: async () =>
            JSON.stringify(await lookup({ names: ['evil.test'], server, type: 'AAAA', connectPort: 0 })) +
            h
              .agentLog()
              .split('\n')
              .filter((l) => /DNS|ipv6|IPv6|address/.test(l))
              .join('\n') +
            (
              await runner.run('ip', [
                'netns',
                'exec',
                h.node,
                'nft',
                'list',
                'chain',
                'inet',
                'calico',
                'mangle-DNS-PREROUTING',
              ])
            ).stdout,
        },
      );
      const evil = one(await lookup({ names: ['evil.test'], server, type: 'AAAA' }));
      assert.deepEqual([evil.addresses, evil.connected], [[V6.evil], false]);
      const api = one(await lookup({ names: ['api.example.com'], server, type: 'AAAA' }));
      assert.deepEqual(api.addresses, [V6.web]);
      assert.equal(api.connected, true, JSON.stringify(api));
      assert.match(await h.tableText(), /cali60d-[^\n]*\n[^}]*fd65::80 timeout/);
    });

    it('a CNAME chain from an allowed name allows its final address (TCP DNS)', async () => {
      const www = one(await lookup({ names: ['www.example.com'], transport: 'tcp' }));
      assert.deepEqual(www.addresses, ['10.65.0.81']);
      assert.equal(www.connected, true, JSON.stringify(www));
    });

    it("an untrusted server's answer is ignored", async () => {
      const p = one(
        await lookup({ names: ['poisoned.example.com'], server: { ip: '10.65.0.54', port: 53 } }),
      );
      assert.deepEqual(p.addresses, ['10.65.0.66']);
      assert.equal(p.connected, false);
    });

    it('after TTL + dnsExtraTTL access ends for new connections; an established one survives', async () => {
      const s = one(
        await lookup({
          names: ['short.example.com'],
          server: { ip: '10.65.0.55', port: 53 },
          connectPort: 0,
        }),
      );
      assert.deepEqual(s.addresses, ['10.65.0.82']);
      // An established connection: socat holding a TCP connection open while the mapping expires.
      const held = spawn(
        'ip',
        ['netns', 'exec', client.ns, 'socat', '-T', '30', 'STDIO', 'TCP:10.65.0.82:80,connect-timeout=2'],
        {
          stdio: ['pipe', 'pipe', 'ignore'],
        },
      );
      procs.push(held);
      await waitFor(
        async () =>
          (
            await runner.run('ip', [
              'netns',
              'exec',
              client.ns,
              'ss',
              '-Htn',
              'state',
              'established',
              'dst',
              '10.65.0.82',
            ])
          ).stdout.trim() !== '',
        { timeoutMs: 5_000, what: 'the held connection to be established' },
      );
      await waitFor(async () => !(await connects('10.65.0.82')), {
        timeoutMs: 15_000,
        what: 'access to end after the TTL',
      });
      const echoed = new Promise<string>((resolve) => {
        held.stdout.once('data', (b: Buffer) => {
          resolve(b.toString());
        });
      });
      held.stdin.write('still here\n');
      assert.equal((await echoed).trim(), 'still here', 'the established connection still carries data');
      held.kill();
    });

    it('a malformed answer from a trusted server is passed on but never learned; the agent keeps working', async () => {
      const b = one(await lookup({ names: ['bad.example.com'], server: { ip: '10.65.0.56', port: 53 } }));
      assert.equal(b.error, 'unparsable reply');
      assert.equal(await connects('10.65.0.66'), false);
      const api = one(await lookup({ names: ['api.example.com'] }));
      assert.equal(api.connected, true, JSON.stringify(api));
    });

    it('every answer is a dns.log line naming the client pod; felix_dns_* metrics count answers and mappings', async () => {
      const file = join(h.runDir, 'dnslogs', 'dns.log');
      const lines = (): Record<string, unknown>[] => {
        try {
          return readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        } catch {
          return [];
        }
      };
      await waitFor(() => lines().some((l) => l.qname === 'api.example.com'), {
        timeoutMs: 10_000,
        what: 'api.example.com in dns.log',
      });
      const line = lines().find((l) => l.qname === 'api.example.com');
      assert.ok(line !== undefined);
      assert.deepEqual(line.client, { ip: '10.65.0.10', namespace: 'app', name: 'client' });
      assert.deepEqual(line.server, { ip: '10.65.0.53', port: 53 });
      assert.equal(line.qtype, 'A');
      assert.equal(line.rcode, 'NOERROR');
      const r = await h.scope
        .runner(h.node)
        .run(process.execPath, ['-e', FETCH, 'http://127.0.0.1:9091/metrics'], { timeoutMs: 10_000 });
      const value = (name: string): number =>
        Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.stdout)?.[1] ?? NaN);
      const ss = (await runner.run('ip', ['netns', 'exec', h.node, 'ss', '-ltnu'])).stdout;
      assert.ok(
        value('felix_dns_answers_seen_total') >= 3,
        r.stdout.slice(0, 500) +
          ss +
          h
            .agentLog()
            .split('\n')
            .filter((l) => /metric|rometheus|server/i.test(l))
            .join('\n'),
      );
      assert.ok(
        value('felix_dns_mappings_programmed') >= 2,
        r.stdout
          .split('\n')
          .filter((l) => l.startsWith('felix_dns'))
          .join('\n'),
      );
      assert.ok(value('felix_dns_programming_delay_seconds_count') >= 2);
      assert.ok(value('felix_dns_parse_errors_total') >= 1);
    });

    it(`${BULK} fresh names looked up and connected to at once: 0 failures`, async (t) => {
      const names = Array.from({ length: BULK }, (_, i) => `n${i}.bulk.example.com`);
      // One burst: a UDP socket's receive buffer holds about 250 datagrams, so some queries are lost on the
      // way in and resent after a second, as a stub resolver does (`options timeout:1 attempts:5`).
      const results = await lookup({
        names,
        timeoutMs: 1_000,
        attempts: 5,
        connectPort: 8080,
        connectTimeoutMs: 5_000,
      });
      const failed = results.filter((r) => r.connected !== true);
      assert.equal(failed.length, 0, `failures: ${JSON.stringify(failed.slice(0, 5))}`);
      const resent = results.filter((r) => (r.sent ?? 1) > 1).length;
      t.diagnostic(`${BULK} names: ${resent} lookups resent after a lost datagram`);
    });

    it('a restarted agent re-programs learned names from its cache file', async () => {
      await h.killAgent('SIGTERM');
      await runner.run('ip', ['netns', 'exec', h.node, 'nft', 'delete', 'table', 'inet', 'calico']);
      h.startAgent();
      await h.settle(30_000);
      await waitFor(() => connects('10.65.0.80'), {
        timeoutMs: 15_000,
        what: 'api.example.com allowed without a new lookup',
      });
      assert.equal(await connects('10.65.0.66'), false);
    });
  },
);
