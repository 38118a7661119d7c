/**
 * Shared pieces of the DNS policy kernel tests (dns-policy.netns.test.ts, dns-netsets.netns.test.ts): the
 * dnsmasq that serves as a DNS server in a pod, and the "look up, then connect at once" probe run inside a pod
 * (dns-probe.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '../../datastore/index.js';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { repoRoot } from '../../test-support/repo.js';
import type { DnsProbeRequest, DnsProbeResult } from './dns-probe.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';

/** Why DNS kernel tests cannot run here, or false. */
export function dnsmasqSkipReason(): string | false {
  return existsSync(DNSMASQ) ? false : `${DNSMASQ} not installed (Debian package dnsmasq-base)`;
}

/** dnsmasq in the pod's namespace on `listen` port 53, answering from its own options only (`extra`). */
export function startDnsmasq(
  ns: string,
  listen: readonly string[],
  ttl: number,
  extra: readonly string[],
): ChildProcess {
  return spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      DNSMASQ,
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--user=root',
      '--pid-file=',
      ...listen.map((a) => `--listen-address=${a}`),
      '--bind-interfaces',
      '--port=53',
      '--no-resolv',
      '--no-hosts',
      `--local-ttl=${ttl}`,
      ...extra,
    ],
    { stdio: 'ignore' },
  );
}

/** Runs dns-probe.js in the pod's namespace: every name looked up, then connected to at once. */
export async function probeDns(
  runner: CommandRunner,
  ns: string,
  req: DnsProbeRequest,
): Promise<DnsProbeResult[]> {
  const script = join(repoRoot(), 'dist', 'src', 'agent', 'testing', 'dns-probe.js');
  const r = await runner.run('ip', ['netns', 'exec', ns, process.execPath, script, JSON.stringify(req)], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DnsProbeResult[];
}

/** The only result of a one-name probe. */
export function one(results: readonly DnsProbeResult[]): DnsProbeResult {
  const [r] = results;
  assert.ok(r !== undefined && results.length === 1, JSON.stringify(results));
  return r;
}

export function gnp(name: string, spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec,
  } as Resource;
}
