/** calico-node's BIRD probes against a control socket that answers as BIRD 2 does. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runProbes } from './probes.js';

interface FakeBird {
  protocols: string[];
  gracefulRestart: boolean;
}

const HEADING = '2002-Name       Proto      Table      State  Since         Info';

function answer(bird: FakeBird, command: string): string {
  if (command === 'show protocols') {
    const rows = [
      '1002-device1    Device     ---        up     10:00:00.000',
      ...bird.protocols.map((p) => ` ${p}`),
    ];
    return `${HEADING}\n${rows.join('\n')}\n0000 \n`;
  }
  if (command === 'show status') {
    const gr = bird.gracefulRestart
      ? '0024-Graceful restart recovery in progress\n  Waiting for 1 channels to recover\n'
      : '';
    return `1000-BIRD 2.0.12\n1011-Router ID is 10.0.0.1\n Current server time is 2026-01-01 10:00:00.000\n${gr}0013 Daemon is up and running\n`;
  }
  return '9001 syntax error\n';
}

const peer = (ip: string, info: string): string =>
  `Mesh_${ip.replaceAll('.', '_')} BGP        ---        ${info === 'Established' ? 'up   ' : 'start'}  10:00:01.000  ${info}`;

describe('BIRD probes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-probe-'));
  const socket = join(dir, 'bird.ctl');
  const nodename = join(dir, 'nodename');
  const bird: FakeBird = { protocols: [], gracefulRestart: false };
  let server: Server;
  const env = { CALICO_BIRD_SOCKET: socket, CALICO_NODENAME_FILE: nodename };
  const probe = (sel: Partial<Parameters<typeof runProbes>[0]>): Promise<string | undefined> =>
    runProbes(
      {
        felixLive: false,
        felixReady: false,
        birdLive: false,
        bird6Live: false,
        birdReady: false,
        bird6Ready: false,
        thresholdMs: 5000,
        ...sel,
      },
      env,
    );
  const startedAgo = (ms: number): void => {
    writeFileSync(nodename, 'node1');
    const t = (Date.now() - ms) / 1000;
    utimesSync(nodename, t, t);
  };

  before(async () => {
    server = createServer((c) => {
      c.write('0001 BIRD 2.0.12 ready.\n');
      c.on('data', (d) => c.write(answer(bird, d.toString().trim())));
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });
  after(async () => {
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('live when BIRD answers; not live without a socket', async () => {
    assert.equal(await probe({ birdLive: true, bird6Live: true }), undefined);
    const r = await runProbes(
      {
        felixLive: false,
        felixReady: false,
        birdLive: true,
        bird6Live: false,
        birdReady: false,
        bird6Ready: false,
        thresholdMs: 2000,
      },
      { CALICO_BIRD_SOCKET: join(dir, 'none.ctl') },
    );
    assert.match(
      r ?? '',
      /^calico\/node is not ready: bird\/confd is not live: error querying BIRD: unable to connect/,
    );
  });

  it('ready with no peers; right after start only when every peer is Established and no graceful restart runs', async () => {
    startedAgo(1000);
    bird.protocols = [];
    assert.equal(await probe({ birdReady: true }), undefined);
    bird.protocols = [
      peer('10.0.0.2', 'Established'),
      peer('10.0.0.3', 'Active        Socket: Connection refused'),
    ];
    assert.equal(
      await probe({ birdReady: true }),
      'calico/node is not ready: BIRD is not ready: BGP not established with 10.0.0.3',
    );
    bird.protocols = [peer('10.0.0.2', 'Established')];
    bird.gracefulRestart = true;
    assert.equal(
      await probe({ birdReady: true }),
      'calico/node is not ready: BIRD is not ready: graceful restart in progress',
    );
    bird.gracefulRestart = false;
    assert.equal(await probe({ birdReady: true, bird6Ready: true }), undefined, 'no IPv6 peers: bird6 ready');
  });

  it('after the threshold one Established peer is enough, none is not ready', async () => {
    startedAgo(60_000);
    bird.protocols = [peer('10.0.0.2', 'Established'), peer('10.0.0.3', 'Active')];
    assert.equal(await probe({ birdReady: true }), undefined);
    bird.protocols = [peer('10.0.0.2', 'Connect'), peer('10.0.0.3', 'Active')];
    assert.equal(
      await probe({ birdReady: true }),
      'calico/node is not ready: BIRD is not ready: BGP not established with 10.0.0.2,10.0.0.3',
    );
  });
});
