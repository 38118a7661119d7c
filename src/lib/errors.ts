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

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
