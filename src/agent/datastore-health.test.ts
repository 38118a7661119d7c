/** The agent's datastore-health hook: log lines, metrics, status.json field and readiness reasons. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DatastoreHealth } from './datastore-health.js';
import type { Logger } from './log.js';

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warning'), error: at('error') }, lines };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} missing`);
  return Number(line.split(' ')[1]);
}

const gnp = { kind: 'GlobalNetworkPolicy', name: 'default-deny' };
const np = { kind: 'NetworkPolicy', namespace: 'x', name: 'fresh' };

describe('DatastoreHealth', () => {
  it('logs, counts and reports held-back resources and reachability; readiness says why', async () => {
    const registry = new Registry();
    const { log, lines } = recordingLog();
    let changes = 0;
    const at = new Date('2026-03-01T10:00:00Z');
    const h = new DatastoreHealth({ log, registry, onChange: () => changes++, now: () => at });
    assert.deepEqual(h.readinessProblems(), ['datastore: not connected: not connected yet']);

    h.onEvent({ type: 'connection', connected: true, detail: '' });
    h.onSyncStatus('InSync');
    assert.deepEqual(h.readinessProblems(), []);
    assert.equal(h.status().inSync, true);
    assert.equal(await metric(registry, 'felix_datastore_connected'), 1);

    h.onEvent({
      type: 'invalid',
      resource: { key: gnp, revision: 12, problem: 'invalid JSON (5 bytes): x', lastGoodRevision: 9 },
    });
    h.onEvent({
      type: 'invalid',
      resource: { key: np, revision: 13, problem: 'not a JSON object (null)', lastGoodRevision: undefined },
    });
    assert.deepEqual(h.status().invalidResources, [
      {
        key: 'GlobalNetworkPolicy(default-deny)',
        revision: 12,
        problem: 'invalid JSON (5 bytes): x',
        lastGoodRevision: 9,
      },
      {
        key: 'NetworkPolicy(x/fresh)',
        revision: 13,
        problem: 'not a JSON object (null)',
        lastGoodRevision: null,
      },
    ]);
    assert.deepEqual(h.readinessProblems(), [
      'datastore: GlobalNetworkPolicy(default-deny) revision 12 is invalid (held at its last good version, revision 9): invalid JSON (5 bytes): x',
      'datastore: NetworkPolicy(x/fresh) revision 13 is invalid (never valid, not applied): not a JSON object (null)',
    ]);
    assert.equal(await metric(registry, 'felix_datastore_invalid_resources'), 2);
    assert.equal(await metric(registry, 'felix_datastore_invalid_updates_total'), 2);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('error')),
      [
        'error invalid datastore resource: keeping its last good version {"key":"GlobalNetworkPolicy(default-deny)","revision":12,"problem":"invalid JSON (5 bytes): x","lastGoodRevision":9}',
        'error invalid datastore resource, never valid: not applied {"key":"NetworkPolicy(x/fresh)","revision":13,"problem":"not a JSON object (null)"}',
      ],
    );

    h.onEvent({ type: 'resolved', key: gnp, revision: 14, reason: 'valid' });
    h.onEvent({ type: 'resolved', key: np, revision: 15, reason: 'deleted' });
    assert.deepEqual(h.status().invalidResources, []);
    assert.equal(await metric(registry, 'felix_datastore_invalid_resources'), 0);
    assert.equal(await metric(registry, 'felix_datastore_invalid_updates_total'), 2, 'a counter');

    h.onEvent({ type: 'connection', connected: false, detail: 'no answer within 2000 ms' });
    assert.deepEqual(h.status(), {
      connected: false,
      inSync: false,
      syncStatus: 'InSync',
      lastError: 'no answer within 2000 ms',
      connectedChangedAt: '2026-03-01T10:00:00.000Z',
      invalidResources: [],
    });
    assert.deepEqual(h.readinessProblems(), ['datastore: not connected: no answer within 2000 ms']);
    assert.equal(await metric(registry, 'felix_datastore_connected'), 0);
    h.onEvent({ type: 'connection', connected: true, detail: '' });
    assert.deepEqual(lines.slice(-2), [
      'error datastore connection lost; keeping the dataplane as programmed {"error":"no answer within 2000 ms"}',
      'info datastore connection restored {"downSeconds":0}',
    ]);
    assert.ok(changes >= 8, `onChange called for every change (${changes})`);
  });
});
