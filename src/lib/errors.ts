/**
 * The error catalogue. Every error the project throws on purpose carries a code from this union, so callers
 * branch on `code`, never on `message`. Classes are grouped by how the caller reacts (house style §4.6).
 */
export type ErrorCode =
  | 'CALICO_ERR_BUG'
  | 'CALICO_ERR_VALIDATION'
  | 'CALICO_ERR_PARSE'
  | 'CALICO_ERR_NOT_FOUND'
  | 'CALICO_ERR_ALREADY_EXISTS'
  | 'CALICO_ERR_CONFLICT'
  | 'CALICO_ERR_DATASTORE_UNAVAILABLE'
  | 'CALICO_ERR_KERNEL'
  | 'CALICO_ERR_USAGE'
  | 'CALICO_ERR_IO';

export class CalicoError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A problem with one field of one input object: `spec.ingress[0].action: ...`. */
export interface FieldIssue {
  /** Dotted/indexed path from the document root, e.g. `spec.ingress[0].destination.ports[1]`. */
  readonly path: string;
  /** What is wrong, including the offending value, e.g. `invalid port "70000"`. */
  readonly message: string;
}

export function formatIssue(issue: FieldIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** Carries every problem found in one input at once (Calico's ErrorValidation with all erroredFields). */
export class ValidationError extends CalicoError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[], context?: string) {
    const head = context === undefined ? '' : `${context}: `;
    super('CALICO_ERR_VALIDATION', head + issues.map(formatIssue).join('; '));
    this.issues = issues;
  }
}

/** An internal invariant was violated. Never thrown for bad input. */
export class BugError extends CalicoError {
  constructor(message: string) {
    super('CALICO_ERR_BUG', message);
  }
}

export class UsageError extends CalicoError {
  constructor(message: string) {
    super('CALICO_ERR_USAGE', message);
  }
}

/** The object named by a key does not exist (Calico's ErrorResourceDoesNotExist). */
export class NotFoundError extends CalicoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CALICO_ERR_NOT_FOUND', message, options);
  }
}

/** Create of an object whose key is already taken (Calico's ErrorResourceAlreadyExists). */
export class AlreadyExistsError extends CalicoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CALICO_ERR_ALREADY_EXISTS', message, options);
  }
}

/**
 * A compare-and-swap precondition failed: the object changed since it was read (resourceVersion) or was
 * replaced by another object of the same name (uid). The caller re-reads and retries or reports.
 */
export class ConflictError extends CalicoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CALICO_ERR_CONFLICT', message, options);
  }
}

/** The datastore could not be reached or answered with a transport error; retrying later may succeed. */
export class DatastoreUnavailableError extends CalicoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CALICO_ERR_DATASTORE_UNAVAILABLE', message, options);
  }
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The message plus, for a kernel tool's refusal, the tool's own words (for logs and status files). */
export function errorDetail(e: unknown): string {
  if (!(e instanceof KernelProgrammingError) || e.stderr.trim() === '') return errorMessage(e);
  const why = e.stderr.trim().split('\n').slice(0, 6).join('; ');
  return `${e.message}: ${why.length > 600 ? `${why.slice(0, 600)}...` : why}`;
}

/**
 * A kernel tool (nft, ip, ...) rejected what we asked it to do. The affected resources stay dirty and the
 * dataplane loop retries them; `stderr` is the tool's own explanation.
 */
export class KernelProgrammingError extends CalicoError {
  readonly command: string;
  readonly exitCode: number;
  readonly stderr: string;
  constructor(
    message: string,
    details: { readonly command: string; readonly exitCode: number; readonly stderr: string },
    options?: { cause?: unknown },
  ) {
    super('CALICO_ERR_KERNEL', message, options);
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }
}
