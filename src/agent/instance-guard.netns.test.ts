/**
 * One agent per network namespace, with real agents in namespaces of the test's own: a second agent started
 * in the same namespace exits 1 naming the first one's pid and touches nothing, while the first keeps
 * running and programming; agents in two namespaces both run; after the first is killed (SIGKILL: no
 * clean-up) a new one starts in its namespace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness } from './testing.js';

const main = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
const skip = kernelTestSkipReason() || (existsSync(main) ? false : 'dist/src/agent/main.js not built');

interface Run {
  readonly code: number | null;
  readonly stderr: string;
}

/** Starts another agent in `ns` (its own run directory, the same datastore); kills it if it outlives 30 s. */
function secondAgent(h: AgentHarness, ns: string, runDir: string): Promise<Run> {
  mkdirSync(runDir, { recursive: true });
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, main], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        NODENAME: 'node1',
        DATASTORE_TYPE: 'embedded',
        CALICO_DATASTORE_PATH: h.dbPath,
        CALICO_RUN_DIR: runDir,
        CALICO_NODENAME_FILE: join(runDir, 'nodename'),
        CALICO_MTU_FILE: join(runDir, 'mtu'),
        FELIX_HEALTHENABLED: 'false',
        CALICO_NETWORKING_BACKEND: 'none',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('one calico-node per network namespace', { skip, timeout: 180_000 }, () => {
  const a = new AgentHarness();
  const b = new AgentHarness();

  before(async () => {
    await a.setup();
    await b.setup();
  });
  after(async () => {
    await a[Symbol.asyncDispose]();
    await b[Symbol.asyncDispose]();
  });

  it('a second agent in the namespace exits 1 naming the first; the first keeps programming', async () => {
    a.startAgent();
    await a.settle(30_000);
    const tableBefore = await a.tableText();
    const second = await secondAgent(a, a.node, join(a.dir, 'second-run'));
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `another calico-node \\(pid ${String(a.agentPid())}\\) is already running in this network namespace`,
      ),
    );
    assert.deepEqual(readdirSync(join(a.dir, 'second-run')), [], 'the second one wrote nothing');
    assert.equal(await a.tableText(), tableBefore, "the first agent's table is untouched");
    assert.ok(a.agentRunning(), a.agentLog());
    await a.settle(30_000);
  });

  it('agents in two namespaces both run', async () => {
    b.startAgent({ NODENAME: 'node2' });
    await b.settle(30_000);
    await a.settle(30_000);
    // Both are alive at once, each with its own table.
    assert.ok(a.agentRunning(), a.agentLog());
    assert.ok(b.agentRunning(), b.agentLog());
    assert.match(await a.tableText(), /^table inet calico \{/m);
    assert.match(await b.tableText(), /^table inet calico \{/m);
  });

  it('after the first is killed, a new agent starts in its namespace', async () => {
    await a.killAgent('SIGKILL');
    a.startAgent();
    await a.settle(30_000);
  });
});
