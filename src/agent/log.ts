/**
 * A small structured logger (JSON lines on stderr), passed in rather than imported as a global. The level
 * follows Felix's logSeverityScreen (Trace, Debug, Info, Warning, Error, Fatal; Trace logs as debug, Fatal
 * as error) and can change while the agent runs.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentLogger extends Logger {
  /** A Felix severity or one of debug, info, warn(ing), error; unknown names mean info. */
  setLevel(level: string): void;
  isDebugEnabled(): boolean;
}

const LEVELS = ['debug', 'info', 'warning', 'error'] as const;

function levelIndex(level: string): number {
  const l = level.toLowerCase();
  const norm =
    l === 'warn' ? 'warning' : l === 'trace' ? 'debug' : l === 'fatal' || l === 'panic' ? 'error' : l;
  const i = LEVELS.indexOf(norm as (typeof LEVELS)[number]);
  return i < 0 ? 1 : i;
}

export function createLogger(
  level: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
  onWriteError?: (e: unknown) => void,
): AgentLogger {
  let min = levelIndex(level);
  const emit = (lvl: number, msg: string, fields?: Record<string, unknown>): void => {
    if (lvl < min) return;
    try {
      write(`${JSON.stringify({ time: new Date().toISOString(), level: LEVELS[lvl], msg, ...fields })}\n`);
    } catch (e) {
      // A log line that cannot be written is counted (felix_log_errors), never allowed to stop the agent.
      onWriteError?.(e);
    }
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
    setLevel: (l) => {
      min = levelIndex(l);
    },
    isDebugEnabled: () => min === 0,
  };
}
