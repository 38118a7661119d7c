/**
 * Kubernetes `Status` answers (meta/v1), as the generic API server builds them (apimachinery
 * `pkg/api/errors`), and the mapping of calico-ts errors onto them. The reasons, codes and message shapes
 * are Kubernetes': kubectl prints `Error from server (<Reason>): <message>`.
 */
import { formatIssue, type FieldIssue } from '../lib/errors.js';
import {
  AlreadyExistsError,
  CalicoError,
  ConflictError,
  DatastoreUnavailableError,
  NotFoundError,
  ValidationError,
  errorMessage,
} from '../lib/errors.js';
import { GROUP } from './resources.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'Expired'
  | 'ServiceUnavailable'
  | 'InternalError';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: readonly StatusCause[];
  };
  readonly code: number;
}

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Expired: 410,
  UnsupportedMediaType: 415,
  Invalid: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
};

/** Thrown by handlers; the server answers it as it is. */
export class StatusError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message);
    this.status = status;
  }
}

export function failure(reason: StatusReason, message: string, details?: Status['details']): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code: CODES[reason],
  });
}

/** The object a request is about, for messages: `globalnetworkpolicies.projectcalico.org "allow-dns"`. */
export interface Target {
  readonly plural: string;
  readonly kind: string;
  readonly name?: string;
}

function qualified(t: Target): string {
  return `${t.plural}.${GROUP}`;
}

export function notFound(t: Target): StatusError {
  return failure('NotFound', `${qualified(t)} "${t.name ?? ''}" not found`, {
    ...(t.name === undefined ? {} : { name: t.name }),
    group: GROUP,
    kind: t.plural,
  });
}

export function alreadyExists(t: Target): StatusError {
  return failure('AlreadyExists', `${qualified(t)} "${t.name ?? ''}" already exists`, {
    ...(t.name === undefined ? {} : { name: t.name }),
    group: GROUP,
    kind: t.plural,
  });
}

/** A resourceVersion precondition failed (Kubernetes' "the object has been modified" conflict). */
export function conflict(t: Target, why: string): StatusError {
  return failure('Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ''}": ${why}`, {
    ...(t.name === undefined ? {} : { name: t.name }),
    group: GROUP,
    kind: t.plural,
  });
}

export const MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

/**
 * 422 Invalid with one cause per field problem, as Calico's API server turns a libcalico ErrorValidation
 * into `NewInvalid` (`apiserver/pkg/storage/calico/resource.go` validationError): causes of type
 * FieldValueInvalid naming the field, the message `<Kind>.projectcalico.org "<name>" is invalid: <field>:
 * <detail>` (a list in brackets when several). Each cause's message is exactly what `calicoctl validate`
 * prints for that field (Calico's own detail reads `Invalid value: <value>: <reason>`; ours carries the value
 * inside the reason).
 */
export function invalid(t: Target, issues: readonly FieldIssue[]): StatusError {
  const causes: StatusCause[] = issues.map((i) => ({
    reason: 'FieldValueInvalid',
    message: i.message,
    ...(i.path === '' ? {} : { field: i.path }),
  }));
  const list = issues.map(formatIssue);
  const summary = list.length === 1 ? list[0]! : `[${list.join(', ')}]`;
  return failure('Invalid', `${t.kind}.${GROUP} "${t.name ?? ''}" is invalid: ${summary}`, {
    ...(t.name === undefined ? {} : { name: t.name }),
    group: GROUP,
    kind: t.kind,
    causes,
  });
}

/** A calico-ts error from the datastore as the Status a client sees. */
export function statusFromError(e: unknown, t: Target): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof NotFoundError) return notFound(t);
  if (e instanceof AlreadyExistsError) return alreadyExists(t);
  if (e instanceof ConflictError) return conflict(t, MODIFIED);
  if (e instanceof ValidationError) return invalid(t, e.issues);
  if (e instanceof DatastoreUnavailableError) return failure('ServiceUnavailable', e.message);
  // Calico's ErrorOperationNotSupported reaches clients as an internal error with its text.
  if (e instanceof CalicoError) return failure('InternalError', e.message);
  return failure('InternalError', `Internal error occurred: ${errorMessage(e)}`);
}
