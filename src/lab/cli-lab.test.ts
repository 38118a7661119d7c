import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defaultRunDir, labCommand } from './cli-lab.js';
import { isLabLog } from './cli-up.js';

const BUILTIN = join(tmpdir(), 'calico-lab');

describe('calico-lab hints', () => {
  test('name the run dir whenever a bare calico-lab would look elsewhere', () => {
    assert.equal(labCommand(BUILTIN, ['env'], {}), 'calico-lab env');
    assert.equal(
      labCommand(`${BUILTIN}/`, ['agent', 'start', 'node-2'], {}),
      'calico-lab agent start node-2',
    );
    assert.equal(labCommand('/srv/lab', ['env'], {}), 'calico-lab --run-dir /srv/lab env');
    // $CALICO_LAB_DIR finds it in this shell, but not in a new one: the hint names it.
    assert.equal(
      labCommand('/srv/lab', ['down'], { CALICO_LAB_DIR: '/srv/lab' }),
      'calico-lab --run-dir /srv/lab down',
    );
    // The built-in default while $CALICO_LAB_DIR points elsewhere: a bare command would miss it.
    assert.equal(
      labCommand(BUILTIN, ['env'], { CALICO_LAB_DIR: '/srv/lab' }),
      `calico-lab --run-dir ${BUILTIN} env`,
    );
    assert.equal(
      labCommand("/tmp/my lab's", ['status'], {}),
      `calico-lab --run-dir '/tmp/my lab'\\''s' status`,
    );
  });

  test('the default run dir', () => {
    assert.equal(defaultRunDir({}), BUILTIN);
    assert.equal(defaultRunDir({ CALICO_LAB_DIR: '/srv/lab' }), '/srv/lab');
    assert.equal(defaultRunDir({ CALICO_LAB_DIR: '' }), BUILTIN);
  });

  test('down --keep-logs keeps logs, status, packet logs and BIRD files, nothing else', () => {
    for (const f of [
      'nodes/node-1/agent.log',
      'nodes/node-1/status.json',
      'nodes/node-1/packets.pcap',
      'nodes/node-1/packets.log',
      'nodes/node-1/bird.cfg',
      'nodes/node-1/bird-protocols.txt',
      'pods/0a1b2c.log',
      'etcd/etcd.log',
    ])
      assert.equal(isLabLog(f), true, f);
    for (const f of ['lab.json', 'calico.db', 'lab.lock', 'nodes/node-1/bird.ctl', 'pods/0a1b2c.sock'])
      assert.equal(isLabLog(f), false, f);
  });
});
