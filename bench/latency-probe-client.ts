/**
 * The bench's end of the programming-latency probe (latency-probe.ts): the long-lived probe process started in
 * a client pod's namespace, driven over stdin, its answers read line by line. Shared by the latency benches.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from '../src/lib/async.js';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const probeScript = fileURLToPath(new URL('./latency-probe.js', import.meta.url));

/** The long-lived probe process in the client's namespace (latency-probe.ts), one line per answer. */
export class Probe implements AsyncDisposable {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;

  constructor(ns: string) {
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, probeScript]);
    this.#child.stderr.resume();
    createInterface({ input: this.#child.stdout }).on('line', (l) => {
      this.#lines.push(l);
      this.#wake?.();
    });
  }

  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  /** Starts the connect attempts to `host:port`; resolves once the first is on its way. */
  async arm(host: string, port: number, limitMs: number): Promise<void> {
    this.send(`arm ${host} ${port} ${limitMs}`);
    const armed = await this.next(10_000);
    if (armed !== 'armed') throw new Error(`latency probe: expected "armed", got "${armed}"`);
  }

  /**
   * When (CLOCK_MONOTONIC ms) the first attempt of the armed probe connected; throws naming `what` when none
   * did within the probe's limit.
   */
  async connected(limitMs: number, what: string): Promise<number> {
    const answer = await this.next(limitMs + 5000);
    const m = /^ok (\S+)$/.exec(answer);
    if (m === null) throw new Error(`${what} did not take effect within ${limitMs} ms (${answer})`);
    return Number(m[1]);
  }

  async next(timeoutMs: number): Promise<string> {
    const deadline = now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (now() > deadline) throw new Error(`latency probe: no answer within ${timeoutMs} ms`);
      if (this.#child.exitCode !== null) throw new Error('latency probe exited');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
      this.#wake = undefined;
    }
    return this.#lines.shift()!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<boolean>((r) =>
      this.#child.once('exit', () => {
        r(true);
      }),
    );
    this.#child.stdin.end();
    if (!(await Promise.race([exited, sleep(5000).then(() => false)]))) this.#child.kill('SIGKILL');
  }
}
