import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  AgentStatusWriter,
  agentStatusPath,
  endpointStatusDir,
  parseAgentStatus,
  readAgentStatus,
  readAgentStatusSync,
  readEndpointStatus,
  runDirOfStatusDir,
  STATUS_SCHEMA_VERSION,
} from './agent-status.js';

const BASE = {
  pid: 42,
  nodeName: 'node1',
  updatedAt: '2026-01-02T03:04:05.000Z',
  inSync: true,
  dataplaneInSync: true,
  appliedRevision: 7,
  lastApplyError: null,
};

describe('the agent status protocol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-status-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes status.json atomically with its version and sections, and reads it back (sync and async)', async () => {
    const runDir = join(dir, 'run');
    const w = new AgentStatusWriter(runDir);
    const s = {
      ...BASE,
      datastore: {
        syncStatus: 'InSync' as const,
        connected: true,
        inSync: true,
        lastError: null,
        connectedChangedAt: BASE.updatedAt,
        invalidResources: [
          { key: 'NetworkPolicy(ns/p)', revision: 3, problem: 'bad', lastGoodRevision: 2 },
          { key: 'GlobalNetworkPolicy(q)', revision: 5, problem: 'worse', lastGoodRevision: null },
        ],
      },
      dataplane: {
        consecutiveFailures: 1,
        failuresTotal: 2,
        lastFailure: { at: BASE.updatedAt, error: 'nft: x' },
      },
    };
    await w.writeStatus(s);
    assert.equal(agentStatusPath(runDir), join(runDir, 'status.json'));
    assert.deepEqual(JSON.parse(readFileSync(agentStatusPath(runDir), 'utf8')), {
      version: STATUS_SCHEMA_VERSION,
      ...s,
    });
    assert.deepEqual(await readAgentStatus(runDir), { version: 1, ...s });
    assert.deepEqual(readAgentStatusSync(runDir), { version: 1, ...s });
    assert.equal(await readAgentStatus(join(dir, 'nowhere')), undefined);
  });

  it('validates on read, ignores unknown fields, drops a malformed section, accepts a version-less file', () => {
    const future = parseAgentStatus(
      JSON.stringify({ ...BASE, version: 2, newField: { x: 1 }, dataplane: 'oops' }),
    );
    assert.ok(future.ok);
    assert.equal(future.value.version, 2);
    assert.equal(future.value.dataplane, undefined);
    assert.ok(!('newField' in future.value));
    const legacy = parseAgentStatus(JSON.stringify(BASE));
    assert.ok(legacy.ok && legacy.value.version === 1);
    const bad = parseAgentStatus(JSON.stringify({ ...BASE, pid: 'x', inSync: 1 }));
    assert.deepEqual(bad, { ok: false, error: 'invalid or missing pid, inSync' });
    assert.equal(parseAgentStatus('{').ok, false);
    assert.equal(parseAgentStatus('[]').ok, false);
  });

  it('keeps endpoint-status holding exactly the programmed endpoints, sweeping a previous run', async () => {
    const runDir = join(dir, 'eps');
    const statusDir = endpointStatusDir(runDir);
    assert.equal(runDirOfStatusDir(statusDir), runDir);
    mkdirSync(join(statusDir, 'old'), { recursive: true });
    writeFileSync(join(statusDir, 'old', 'gone'), '{}');
    const w = new AgentStatusWriter(runDir);
    await w.writeEndpoints(
      [
        { namespace: 'ns', name: 'a' },
        { namespace: 'ns', name: 'b' },
      ],
      5,
    );
    assert.deepEqual(await readEndpointStatus(statusDir, 'ns', 'a'), { status: 'up', appliedRevision: 5 });
    assert.equal(existsSync(join(statusDir, 'old', 'gone')), false);
    await w.writeEndpoints([{ namespace: 'ns', name: 'b' }], 6);
    assert.equal(await readEndpointStatus(statusDir, 'ns', 'a'), undefined);
    assert.deepEqual(await readEndpointStatus(statusDir, 'ns', 'b'), { status: 'up', appliedRevision: 5 });
  });
});
