/**
 * The programming-latency probe: one long-lived process in the client pod's namespace, driven over stdin so
 * that no process start sits between a datastore write and the verdict it waits for.
 *
 *   stdin  `arm <host> <port> <limitMs>`  start a TCP connect attempt every millisecond (each attempt given
 *                                          up after 200 ms: a denied SYN is dropped and never answered)
 *   stdout `armed`                         the first attempt is on its way (the bench writes after this)
 *          `ok <ms>`                       the first attempt that connected, at that CLOCK_MONOTONIC time
 *                                          (process.hrtime, shared with the bench and the agent's trace)
 *          `timeout`                       nothing connected within limitMs
 * The process ends when stdin closes. Every loop is bounded by limitMs.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const ATTEMPT_EVERY_MS = 1;
const ATTEMPT_TIMEOUT_MS = 200;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

function arm(host: string, port: number, limitMs: number): void {
  const end = now() + limitMs;
  const open = new Set<Socket>();
  let finished = false;
  const finish = (line: string): void => {
    if (finished) return;
    finished = true;
    clearInterval(timer);
    for (const s of open) s.destroy();
    process.stdout.write(`${line}\n`);
  };
  const attempt = (): void => {
    if (finished) return;
    if (now() > end) {
      finish('timeout');
      return;
    }
    const s = connect({ host, port });
    open.add(s);
    s.setTimeout(ATTEMPT_TIMEOUT_MS, () => s.destroy());
    s.once('connect', () => {
      const t = now();
      s.destroy();
      finish(`ok ${t}`);
    });
    s.on('error', () => s.destroy());
    s.once('close', () => open.delete(s));
  };
  const timer = setInterval(attempt, ATTEMPT_EVERY_MS);
  attempt();
  process.stdout.write('armed\n');
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, host, port, limit] = line.trim().split(/\s+/);
  if (cmd === 'arm' && host !== undefined && port !== undefined && limit !== undefined)
    arm(host, Number(port), Number(limit));
  else process.stdout.write(`error unknown command ${JSON.stringify(line)}\n`);
});
lines.on('close', () => process.exit(0));
