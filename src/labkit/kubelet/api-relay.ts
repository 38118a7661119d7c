/**
 * The node namespace's end of the API relay (relay.ts), started by the lab kubelet with `ip netns exec`:
 *
 *   node api-relay.js --listen 127.0.0.1:6443 --to-unix /run/dir/api.sock
 *
 * Prints `listening` on stdout once it accepts; ends on SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { serveTcpRelay } from './relay.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, 'to-unix': { type: 'string' } } });
  const m = /^([0-9.]+):(\d+)$/.exec(values.listen ?? '');
  const to = values['to-unix'];
  if (m === null || to === undefined) throw new Error('usage: api-relay --listen HOST:PORT --to-unix PATH');
  const server = await serveTcpRelay(m[1]!, Number(m[2]), { kind: 'unix', path: to });
  process.stdout.write('listening\n');
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`api-relay: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
