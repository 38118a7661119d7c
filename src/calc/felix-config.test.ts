import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedParams } from '../api/v3/felix-config.js';
import type { DataplaneMessage } from './messages.js';
import { CalcGraph } from './graph.js';
import type { ResourceUpdate } from './inputs.js';

const felixConfig = (
  name: string,
  spec: Record<string, unknown> | null,
  revision: number,
): ResourceUpdate => ({
  key: { kind: 'FelixConfiguration', name },
  value:
    spec === null
      ? null
      : { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec },
  revision,
});

function configs(msgs: readonly DataplaneMessage[]): Extract<DataplaneMessage, { kind: 'configUpdate' }>[] {
  return msgs.filter(
    (m): m is Extract<DataplaneMessage, { kind: 'configUpdate' }> => m.kind === 'configUpdate',
  );
}

describe('calculation graph: Felix configuration', () => {
  it('merges default < node.<this node> < environment and says which source won', () => {
    const g = new CalcGraph('node1', {
      below: [{ source: 'calico-node', values: { healthEnabled: true } }],
      env: { healthPort: 9300 },
    });
    g.onUpdates([
      felixConfig('default', { healthPort: 9100, logPrefix: 'global', vxlanPort: 4790 }, 1),
      felixConfig('node.node1', { logPrefix: 'mine' }, 2),
      felixConfig('node.node2', { logPrefix: 'theirs', vxlanPort: 4000 }, 3),
    ]);
    g.onInSync();
    const [u] = configs(g.flush());
    assert.ok(u !== undefined);
    assert.equal(u.config.logPrefix, 'mine');
    assert.equal(u.config.vxlanPort, 4790);
    assert.equal(u.config.healthPort, 9300);
    assert.equal(u.config.healthEnabled, true);
    assert.deepEqual(u.sources, {
      healthEnabled: 'calico-node',
      healthPort: 'env',
      logPrefix: 'datastore-node',
      vxlanPort: 'datastore-global',
    });
    // The message is plain data: it survives JSON (unset parameters are absent).
    const copy = JSON.parse(JSON.stringify(u)) as typeof u;
    assert.deepEqual(changedParams(copy.config, u.config), []);
  });

  it('sends a configUpdate only when the effective configuration changes', () => {
    const g = new CalcGraph('node1', { env: { logPrefix: 'env' } });
    g.onUpdates([felixConfig('default', { nftablesRefreshInterval: '90s' }, 1)]);
    g.onInSync();
    assert.equal(configs(g.flush()).length, 1);
    // Same value, other spelling; a field the environment overrides; another node's configuration.
    g.onUpdates([
      felixConfig('default', { nftablesRefreshInterval: '1m30s', logPrefix: 'ds' }, 2),
      felixConfig('node.node9', { logPrefix: 'x' }, 3),
    ]);
    assert.equal(configs(g.flush()).length, 0);
    g.onUpdates([felixConfig('node.node1', { defaultEndpointToHostAction: 'Accept' }, 4)]);
    const [changed] = configs(g.flush());
    assert.equal(changed?.config.defaultEndpointToHostAction, 'Accept');
    g.onUpdates([felixConfig('node.node1', null, 5)]);
    assert.equal(configs(g.flush())[0]?.config.defaultEndpointToHostAction, 'Drop');
  });
});
