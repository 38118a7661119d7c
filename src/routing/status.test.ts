import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import {
  bgpPeerStatuses,
  formatPeerTable,
  formatTable,
  isBirdProcess,
  isCalicoProcess,
  nodeStatusReport,
  parseBirdProtocols,
} from './status.js';

/** `birdc show protocols` from BIRD 2.0.12 (captured on this machine). */
const BIRDC_OUTPUT = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     04:26:57.079  
direct1    Direct     ---        up     04:26:57.079  
kernel4    Kernel     master4    up     04:26:57.079  
static4    Static     master4    up     04:26:57.079  
Mesh_10_0_0_2 BGP        ---        up     04:27:01.512  Established   
Global_192_0_2_9_port_1790 BGP        ---        start  04:26:57.079  Active        Socket: Connection refused
Node_fd00__9 BGP        ---        start  2026-11-25 23:59:59  Idle
kernel6    Kernel     master6    up     04:26:57.079  
`;

/** The same through the raw control socket (`birdc -v`), with reply codes. */
const RAW_OUTPUT = `0001 BIRD 2.0.12 ready.
2002-Name       Proto      Table      State  Since         Info
1002-device1    Device     ---        up     04:26:57.079  
     Mesh_10_0_0_2 BGP        ---        up     04:27:01.512  Established   
0000 
`;

describe('parseBirdProtocols', () => {
  it('reads birdc output (BIRD 2 headings), joining a date and time "since"', () => {
    const r = parseBirdProtocols(BIRDC_OUTPUT);
    assert.ok(r.ok);
    assert.equal(r.value.length, 8);
    assert.deepEqual(r.value[4], {
      name: 'Mesh_10_0_0_2',
      proto: 'BGP',
      table: '---',
      state: 'up',
      since: '04:27:01.512',
      info: 'Established',
    });
    assert.equal(r.value[5]?.info, 'Active Socket: Connection refused');
    assert.equal(r.value[6]?.since, '2026-11-25 23:59:59');
  });

  it('reads raw control-socket output with reply codes, and BIRD 1.x lower-case headings', () => {
    const r = parseBirdProtocols(RAW_OUTPUT);
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.map((p) => p.name),
      ['device1', 'Mesh_10_0_0_2'],
    );
    const v1 = parseBirdProtocols(
      'name     proto    table    state  since       info\nMesh_172_17_8_102 BGP      master   up     2016-11-21  Established\n',
    );
    assert.ok(v1.ok && v1.value[0]?.since === '2016-11-21' && v1.value[0].info === 'Established');
  });

  it('rejects unknown formats', () => {
    assert.deepEqual(parseBirdProtocols('Name Proto State\nx y z\n'), {
      ok: false,
      error: 'unknown BIRD table output format: Name Proto State',
    });
    assert.equal(parseBirdProtocols('BIRD 2.0.12 ready.\n').ok, false);
  });
});

describe('bgpPeerStatuses', () => {
  it('keeps Calico-named BGP sessions, with family, address and type from the name', () => {
    const r = parseBirdProtocols(BIRDC_OUTPUT);
    assert.ok(r.ok);
    assert.deepEqual(
      bgpPeerStatuses(r.value).map((p) => [p.family, p.peerAddress, p.peerType, p.state, p.info]),
      [
        [4, '10.0.0.2', 'node-to-node mesh', 'up', 'Established'],
        [4, '192.0.2.9', 'global', 'start', 'Active Socket: Connection refused'],
        [6, 'fd00::9', 'node specific', 'start', 'Idle'],
      ],
    );
  });

  it('ignores other protocols and names', () => {
    const rows = [
      { name: 'Local_Workload_10_0_0_5', proto: 'BGP', table: '---', state: 'up', since: 'x', info: '' },
      { name: 'Mesh_not_an_ip', proto: 'BGP', table: '---', state: 'up', since: 'x', info: '' },
      { name: 'Mesh_10_0_0_2', proto: 'Static', table: '---', state: 'up', since: 'x', info: '' },
    ];
    assert.deepEqual(bgpPeerStatuses(rows), []);
  });
});

describe('formatTable', () => {
  it('prints calicoctl tables: upper-case centred headings, left-aligned text', () => {
    const table = formatPeerTable([
      {
        family: 4,
        peerAddress: '172.17.8.102',
        peerType: 'node-to-node mesh',
        state: 'up',
        since: '23:30:04',
        info: 'Established',
      },
    ]);
    assert.equal(
      table,
      [
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 172.17.8.102 | node-to-node mesh | up    | 23:30:04 | Established |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
      ].join('\n'),
    );
  });

  it('wraps cells longer than 30 characters (minimum raggedness) and right-aligns numbers', () => {
    const t = formatTable(['A', 'B'], [['Active        Socket: Connection refused by peer', '42']]);
    assert.equal(
      t,
      [
        '+---------------------------+----+',
        '|             A             | B  |',
        '+---------------------------+----+',
        '| Active Socket: Connection | 42 |',
        '| refused by peer           |    |',
        '+---------------------------+----+',
        '',
      ].join('\n'),
    );
  });
});

describe('nodeStatusReport', () => {
  const calico = ['/usr/bin/calico-node', '-felix'];
  const bird = ['bird', '-c', '/etc/calico/confd/config/bird.cfg'];
  const socket = '/run/test/bird.ctl';

  it('prints both families from one BIRD', async () => {
    const runner = new FakeCommandRunner().on(
      { cmd: 'birdc', args: ['-s', socket, 'show', 'protocols'] },
      { stdout: BIRDC_OUTPUT },
    );
    const r = await nodeStatusReport({
      runner,
      socketPath: socket,
      processes: () => Promise.resolve([calico, bird]),
    });
    assert.equal(r.exitCode, 0);
    assert.ok(r.stdout.startsWith('Calico process is running.\n\nIPv4 BGP status\n+'));
    assert.ok(
      r.stdout.includes(
        '| 10.0.0.2     | node-to-node mesh | up    | 04:27:01.512 | Established               |',
      ),
    );
    assert.ok(
      r.stdout.includes(
        '|              |                   |       |              | refused                   |',
      ),
    );
    assert.ok(r.stdout.includes('\nIPv6 BGP status\n+'));
    assert.ok(r.stdout.includes('| fd00::9      | node specific | start | 2026-11-25 23:59:59 | Idle |'));
    assert.ok(r.stdout.endsWith('+\n\n'));
  });

  it('says when there are no peers of a family', async () => {
    const runner = new FakeCommandRunner().on({ cmd: 'birdc' }, { stdout: RAW_OUTPUT });
    const r = await nodeStatusReport({
      runner,
      socketPath: socket,
      processes: () => Promise.resolve([calico, bird]),
    });
    assert.ok(r.stdout.endsWith('\nIPv6 BGP status\nNo IPv6 peers found.\n\n'));
  });

  it('reports Calico or BIRD not running, and an unreachable socket', async () => {
    const runner = new FakeCommandRunner().on(
      { cmd: 'birdc' },
      {
        code: 1,
        stderr: 'Unable to connect to server control socket (/run/test/bird.ctl): No such file or directory',
      },
    );
    const none = await nodeStatusReport({
      runner,
      socketPath: socket,
      processes: () => Promise.resolve([bird]),
    });
    assert.deepEqual(none, { exitCode: 1, stdout: '', stderr: 'Calico process is not running.\n' });
    const noBird = await nodeStatusReport({
      runner,
      socketPath: socket,
      processes: () => Promise.resolve([calico]),
    });
    assert.deepEqual(noBird, {
      exitCode: 0,
      stdout: 'Calico process is running.\n\nThe BGP backend process (BIRD) is not running.\n\n',
      stderr: '',
    });
    const down = await nodeStatusReport({
      runner,
      socketPath: socket,
      processes: () => Promise.resolve([calico, bird]),
    });
    assert.equal(down.exitCode, 0);
    assert.ok(
      down.stdout.includes(
        'Error querying BIRD: unable to connect to BIRDv4 socket: Unable to connect to server control socket',
      ),
    );
  });

  it('recognises the processes', () => {
    assert.ok(isCalicoProcess(['calico-node', '-felix']));
    assert.ok(isCalicoProcess(['/usr/bin/node', '/opt/calico-ts/dist/src/agent/calico-node.js']));
    assert.ok(!isCalicoProcess(['/usr/bin/node', 'server.js', 'calico-node']));
    assert.ok(isBirdProcess(['/usr/sbin/bird', '-c', 'x']));
    assert.ok(!isBirdProcess(['birdc', 'show', 'status']));
  });
});
