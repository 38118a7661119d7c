/**
 * The spawner helper process (see spawner.ts): reads newline-delimited JSON requests on stdin, runs each
 * command with a NodeCommandRunner (this process is small, so its process starts are cheap), and writes one
 * JSON answer line per request on stdout. Requests run concurrently; `{"id":N,"cancel":true}` kills one.
 * Exits when its stdin closes (the parent went away), after the commands in flight have answered.
 */
import { createInterface } from 'node:readline';
import { NodeCommandRunner } from './node-runner.js';

interface Request {
  readonly id: number;
  readonly cancel?: boolean;
  readonly cmd?: string;
  readonly args?: string[];
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

const runner = new NodeCommandRunner();
const inFlight = new Map<number, AbortController>();

function answer(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function start(req: Request): void {
  const controller = new AbortController();
  inFlight.set(req.id, controller);
  runner
    .run(req.cmd ?? '', req.args ?? [], {
      signal: controller.signal,
      ...(req.stdin === undefined ? {} : { stdin: req.stdin }),
      ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }),
    })
    .then(
      (r) => {
        answer({ id: req.id, code: r.code, stdout: r.stdout, stderr: r.stderr });
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        answer({ id: req.id, error: { name: err.name, message: err.message } });
      },
    )
    .finally(() => inFlight.delete(req.id));
}

// Tells the parent the helper works (a helper that dies before saying so is not used again).
answer({ id: 0, ready: true });
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    return;
  }
  if (req.cancel === true) inFlight.get(req.id)?.abort();
  else start(req);
});
