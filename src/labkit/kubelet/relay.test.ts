import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { serveTcpRelay, serveUnixRelay } from './relay.js';

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      resolve((server.address() as { port: number }).port);
    });
  });
}

function roundTrip(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.setTimeout(5000, () => s.destroy(new Error('no answer in 5 s')));
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= payload.length) s.end();
    });
    s.on('close', () => {
      resolve(got);
    });
    s.on('error', reject);
    s.write(payload);
  });
}

describe('API relay (TCP -> unix socket -> TCP, loopback only)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-relay-'));
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bytes go through both ends and back; the upstream closing closes the client', async () => {
    const echo = createServer((c) => c.pipe(c));
    servers.push(echo);
    const echoPort = await listen(echo);
    const sock = join(dir, 'api.sock');
    servers.push(await serveUnixRelay(sock, { kind: 'tcp', host: '127.0.0.1', port: echoPort }));
    const front = await serveTcpRelay('127.0.0.1', 0, { kind: 'unix', path: sock });
    servers.push(front);
    const frontPort = (front.address() as { port: number }).port;
    const big = 'x'.repeat(200_000);
    assert.equal(await roundTrip(frontPort, 'hello'), 'hello');
    assert.equal((await roundTrip(frontPort, big)).length, big.length);
  });

  test('an upstream that is not there: the client connection is closed, not left hanging', async () => {
    const sock = join(dir, 'dead.sock');
    servers.push(await serveUnixRelay(sock, { kind: 'tcp', host: '127.0.0.1', port: 1 }));
    const front = await serveTcpRelay('127.0.0.1', 0, { kind: 'unix', path: sock });
    servers.push(front);
    assert.equal(await roundTrip((front.address() as { port: number }).port, 'hi'), '');
  });
});
