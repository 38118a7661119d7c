/**
 * The spawner helper process (see spawner.ts): reads newline-delimited JSON requests on stdin, runs each
 * command with a NodeCommandRunner (this process is small, so its process starts are cheap), and writes one
 * JSON answer line per request on stdout. Requests run concurrently; `{"id":N,"cancel":true}` kills one.
 * `{"id":N,"cmd":…,"args":…,"prepare":true}` starts a command without input; `{"id":N,"prepared":true,
 * "stdin":…}` later runs it (one answer, as for a command), and a cancel before that disposes it.
 * Exits when its stdin closes (the parent went away), after the commands in flight have answered; prepared
 * commands not run by then are disposed.
 */
import { createInterface } from 'node:readline';
import { PreparedExitedError, type PreparedCommand, type RunResult } from './command-runner.js';
import { NodeCommandRunner } from './node-runner.js';

interface Request {
  readonly id: number;
  readonly cancel?: boolean;
  /** Starts the command now, without input. */
  readonly prepare?: boolean;
  /** Runs the command prepared under this id, with `stdin`. */
  readonly prepared?: boolean;
  readonly cmd?: string;
  readonly args?: string[];
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

const runner = new NodeCommandRunner();
const inFlight = new Map<number, AbortController>();
const prepared = new Map<number, PreparedCommand>();

function answer(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function start(req: Request): void {
  const controller = new AbortController();
  inFlight.set(req.id, controller);
  const opts = {
    signal: controller.signal,
    ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }),
  };
  const p = prepared.get(req.id);
  prepared.delete(req.id);
  let run: Promise<RunResult>;
  if (req.prepared !== true)
    run = runner.run(req.cmd ?? '', req.args ?? [], {
      ...opts,
      ...(req.stdin === undefined ? {} : { stdin: req.stdin }),
    });
  else if (p !== undefined) run = p.run(req.stdin ?? '', opts);
  else run = Promise.reject(PreparedExitedError.of(req.cmd ?? '', req.args ?? []));
  run
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
  if (req.cancel === true) {
    inFlight.get(req.id)?.abort();
    prepared.get(req.id)?.dispose();
    prepared.delete(req.id);
  } else if (req.prepare === true) prepared.set(req.id, runner.prepare(req.cmd ?? '', req.args ?? []));
  else start(req);
});
lines.on('close', () => {
  for (const p of prepared.values()) p.dispose();
  prepared.clear();
});
