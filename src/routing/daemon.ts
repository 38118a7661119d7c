/**
 * A long-running child process whose output is read line by line: how the agent runs BIRD in the
 * foreground, as runit runs it in calico-node. The child gets its own session (a Ctrl-C or a signal to the
 * agent's process group does not reach it: the agent decides when BIRD stops), stdout and stderr are split
 * into bounded lines (LineSplitter) and handed to `onLine`. `detach()` lets the agent exit while the child
 * keeps running (BIRD ignores the closed pipe). The launcher is the seam tests replace; `prefix` runs the
 * command through another one (`ip netns exec <ns>`).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { LineSplitter, MAX_BIRD_LINE } from './bird-log.js';

export interface DaemonHandle {
  readonly pid: number | undefined;
  /** Resolves with the exit code (128 + n when killed by signal n; 127 when it could not be started). */
  readonly exited: Promise<number>;
  /** True until the process has exited. */
  readonly running: boolean;
  kill(signal?: NodeJS.Signals): void;
  /** Stops reading its output and lets this process exit without waiting for it; it keeps running. */
  detach(): void;
}

export interface DaemonLauncher {
  launch(cmd: string, args: readonly string[], onLine: (line: string) => void): DaemonHandle;
}

export interface SpawnLauncherOptions {
  /** Run `cmd` through this command line, e.g. `['ip', 'netns', 'exec', 'ns1']`. */
  readonly prefix?: readonly string[];
  readonly maxLineLength?: number;
}

export function spawnLauncher(options: SpawnLauncherOptions = {}): DaemonLauncher {
  const prefix = options.prefix ?? [];
  return {
    launch(cmd, args, onLine) {
      const [file, ...rest] = [...prefix, cmd, ...args];
      const child = spawn(file ?? cmd, rest, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let running = true;
      const exited = new Promise<number>((resolve) => {
        child.once('error', (e) => {
          if (child.pid !== undefined) return; // a started child still reports its exit
          running = false;
          onLine(`bird: cannot run ${cmd}: ${e.message}`);
          resolve(127);
        });
        // 'close' comes after 'exit' and after its output has been read to the end.
        child.once('close', (code, sig) => {
          running = false;
          resolve(code ?? 128 + (sig === null ? 0 : constants.signals[sig]));
        });
      });
      for (const stream of [child.stdout, child.stderr]) {
        const lines = new LineSplitter(options.maxLineLength ?? MAX_BIRD_LINE);
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          for (const l of lines.push(chunk)) onLine(l);
        });
        stream.on('end', () => {
          for (const l of lines.flush()) onLine(l);
        });
        stream.on('error', () => undefined);
      }
      return {
        pid: child.pid,
        exited,
        get running() {
          return running;
        },
        kill(signal: NodeJS.Signals = 'SIGTERM') {
          if (running) child.kill(signal);
        },
        detach() {
          child.stdout.destroy();
          child.stderr.destroy();
          child.unref();
        },
      };
    },
  };
}
