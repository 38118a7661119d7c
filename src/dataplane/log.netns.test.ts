/**
 * Observability on the real kernel, in a namespace of its own (root; skipped with the reason otherwise):
 * a `Log` rule's packets can be read from NFLOG inside the namespace (tcpdump on `nflog:20`, parsed by
 * parseNflogPcap), and every rule counts what it matched, so the rule that dropped a packet shows it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EMPTY_RULE } from '../calc/testing.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import type { CommandRunner } from './exec/command-runner.js';
import { NodeCommandRunner } from './exec/node-runner.js';
import { parseNflogPcap } from './nflog.js';
import { NftTable } from './nftables/table.js';
import { BASE_CHAIN, LOG_ACTION_NFLOG_GROUP } from './rules/names.js';
import { DEFAULT_RULE_OPTIONS, renderRule } from './rules/rule.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'ping', 'tcpdump']);

interface ListedRule {
  readonly comment?: string;
  readonly expr: readonly Record<string, unknown>[];
}

/** The packets counted by each rule of `chain`, by the note in its comment. */
async function counters(runner: CommandRunner, chain: string): Promise<Map<string, number>> {
  const r = await runner.run('nft', ['-j', 'list', 'chain', 'inet', 'calico', chain], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { nftables: { rule?: ListedRule }[] };
  const out = new Map<string, number>();
  for (const { rule } of doc.nftables) {
    if (rule === undefined) continue;
    const counter = rule.expr.find((e) => 'counter' in e)?.counter as { packets?: number } | undefined;
    out.set(rule.comment?.split(' ').slice(1).join(' ') ?? '', counter?.packets ?? -1);
  }
  return out;
}

describe('Log rules and rule counters on the real kernel', { skip }, () => {
  const scope = new NetnsScope(new NodeCommandRunner());
  const dir = mkdtempSync(join(tmpdir(), 'calts-nflog-'));
  after(async () => {
    await scope[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a Log rule sends its packets to NFLOG with the prefix; the drop rule counts what it dropped', async () => {
    const ns = await scope.namespace();
    const runner = scope.runner(ns);
    const table = new NftTable({ runner });
    const icmp = { ...EMPTY_RULE, protocol: 1 };
    const rules = [
      ...renderRule({ ...icmp, action: 'log' }).map((rule) => ({ rule, comment: 'log icmp' })),
      ...renderRule({ ...icmp, action: 'deny', dstNets: ['127.0.0.2/32'] }).map((rule) => ({
        rule,
        comment: 'deny 127.0.0.2',
      })),
    ];
    table.updateChain(BASE_CHAIN.filterInput, rules, {
      hook: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' },
    });
    await table.apply();

    const capture = join(dir, 'nflog.pcap');
    const tcpdump = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'tcpdump',
        '-i',
        `nflog:${LOG_ACTION_NFLOG_GROUP}`,
        '-c',
        '3',
        '-U',
        '-w',
        capture,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    tcpdump.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => {
      tcpdump.once('exit', () => {
        resolve();
      });
    });
    try {
      await waitFor(() => stderr.includes('listening on'), { timeoutMs: 10_000, what: 'tcpdump listening' });
      const ok = await runner.run('ping', ['-c', '1', '-W', '2', '127.0.0.1'], { timeoutMs: 10_000 });
      assert.equal(ok.code, 0, ok.stderr);
      const dropped = await runner.run('ping', ['-c', '1', '-W', '1', '127.0.0.2'], { timeoutMs: 10_000 });
      assert.notEqual(dropped.code, 0, 'the deny rule drops the echo request to 127.0.0.2');
      await waitFor(() => tcpdump.exitCode !== null, {
        timeoutMs: 10_000,
        what: 'tcpdump to capture 3 packets',
        describe: () => stderr,
      });
    } finally {
      tcpdump.kill();
      await exited;
    }
    const records = parseNflogPcap(readFileSync(capture));
    assert.deepEqual(
      records.map((r) => [r.group, r.prefix, r.protocol, r.dst]),
      [
        [LOG_ACTION_NFLOG_GROUP, 'calico-packet: ', 1, '127.0.0.1'],
        [LOG_ACTION_NFLOG_GROUP, 'calico-packet: ', 1, '127.0.0.1'],
        [LOG_ACTION_NFLOG_GROUP, 'calico-packet: ', 1, '127.0.0.2'],
      ],
    );
    // Echo request and reply to 127.0.0.1 are logged; only the request to 127.0.0.2 reaches the drop.
    const counted = await counters(runner, BASE_CHAIN.filterInput);
    assert.equal(counted.get('log icmp'), 3, JSON.stringify([...counted]));
    assert.equal(counted.get('deny 127.0.0.2'), 1);
    assert.equal(DEFAULT_RULE_OPTIONS.logPrefix, 'calico-packet');
  });
});
