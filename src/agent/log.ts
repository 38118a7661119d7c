/** A small structured logger (JSON lines on stderr), passed in rather than imported as a global. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const LEVELS = ['debug', 'info', 'warning', 'error'] as const;

export function createLogger(
  level: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const norm = level.toLowerCase() === 'warn' ? 'warning' : level.toLowerCase();
  const min = Math.max(0, LEVELS.indexOf(norm as (typeof LEVELS)[number]));
  const emit = (lvl: number, msg: string, fields?: Record<string, unknown>): void => {
    if (lvl < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: LEVELS[lvl], msg, ...fields })}\n`);
  };
  return {
    debug: (m, f) => {
      emit(0, m, f);
    },
    info: (m, f) => {
      emit(1, m, f);
    },
    warn: (m, f) => {
      emit(2, m, f);
    },
    error: (m, f) => {
      emit(3, m, f);
    },
  };
}
