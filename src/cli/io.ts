/**
 * What a command needs from the outside world, injected so commands are testable in-process:
 * output streams, stdin, the environment. Commands return an exit status; they never call process.exit.
 */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** All of stdin as text (used when `stdinBytes` is absent). */
  readonly readStdin: () => Promise<string>;
  /** Stdin as a byte stream, so resource input can be read within its bounds (see sources.ts). */
  readonly stdinBytes?: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * `calicoctl get ... | head`: once the reader has gone, writes to stdout fail with EPIPE. Like Go's calicoctl
 * (which SIGPIPE ends silently), say nothing: without this Node would print a stack trace on stderr.
 */
export function ignoreClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdinBytes: () => process.stdin,
    env: process.env,
  };
}

/** A failure the user caused (bad flag, missing file): one line on stderr, exit status 1 (2 for usage). */
export class CliError extends Error {
  readonly status: number;
  constructor(message: string, status = 1) {
    super(message);
    this.status = status;
  }
}

/**
 * A command line that does not parse (unknown flag, missing argument): calicoctl answers with its one-line
 * `Invalid option: 'calicoctl <args>'. Use flag '--help' ...` and exit status 1, whatever the detail.
 */
export class InvalidOptionError extends CliError {
  constructor(detail: string) {
    super(detail, 1);
  }
}

export function invalidOptionLine(args: readonly string[]): string {
  return `Invalid option: 'calicoctl ${args.join(' ')}'. Use flag '--help' to read about a specific subcommand.`;
}
