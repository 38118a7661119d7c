/**
 * The few API calls made to a control plane this starter runs (readiness, leases, server-side apply of CRDs,
 * and of the lab's Nodes), over HTTPS with the admin's client certificate; bounded by a timeout each. The
 * Kubernetes datastore (../transport.ts) is the client of everything else; this one only serves bringing a
 * control plane up.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { CalicoError } from '../../../lib/errors.js';
import type { Pki } from './pki.js';

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

/** The field manager of everything the lab applies. */
export const FIELD_MANAGER = 'calico-lab';

export class KubeApi {
  readonly server: string;
  readonly #ca: Buffer;
  readonly #cert: Buffer;
  readonly #key: Buffer;

  constructor(server: string, pki: Pki) {
    this.server = server;
    this.#ca = readFileSync(pki.crt('ca'));
    this.#cert = readFileSync(pki.crt('admin'));
    this.#key = readFileSync(pki.key('admin'));
  }

  /** One request; rejects only when no answer came (refused, TLS, timeout). */
  send(
    method: 'GET' | 'PATCH',
    path: string,
    options: { readonly body?: string; readonly contentType?: string; readonly timeoutMs?: number } = {},
  ): Promise<KubeResponse> {
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.#ca,
          cert: this.#cert,
          key: this.#key,
          timeout: options.timeoutMs ?? 10_000,
          headers: {
            accept: 'application/json',
            ...(options.contentType !== undefined ? { 'content-type': options.contentType } : {}),
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
      req.on('error', reject);
      req.end(options.body);
    });
  }

  /** GET `path` as JSON; throws naming the status otherwise. */
  async getJson(path: string, timeoutMs?: number): Promise<unknown> {
    const r = await this.send('GET', path, timeoutMs !== undefined ? { timeoutMs } : {});
    if (r.status !== 200) throw apiError('GET', path, r);
    return JSON.parse(r.body) as unknown;
  }

  /** Server-side apply of `object` at `path` (created or updated; the lab's fields win). */
  async apply(path: string, object: unknown): Promise<void> {
    const query = `?fieldManager=${FIELD_MANAGER}&force=true`;
    const r = await this.send('PATCH', `${path}${query}`, {
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
    });
    if (r.status !== 200 && r.status !== 201) throw apiError('apply', path, r);
  }

  /** `/readyz` answered 200 (false on any other answer or none). */
  async ready(timeoutMs = 2000): Promise<boolean> {
    return this.send('GET', '/readyz', { timeoutMs }).then(
      (r) => r.status === 200,
      () => false,
    );
  }

  /** The holder of the leader lease `name` in kube-system, if any. */
  async leaseHolder(name: string): Promise<string | undefined> {
    const r = await this.send('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`);
    if (r.status !== 200) return undefined;
    const holder = (JSON.parse(r.body) as { spec?: { holderIdentity?: unknown } }).spec?.holderIdentity;
    return typeof holder === 'string' && holder !== '' ? holder : undefined;
  }
}

function apiError(what: string, path: string, r: KubeResponse): CalicoError {
  let message = r.body.slice(0, 400);
  try {
    const m = (JSON.parse(r.body) as { message?: unknown }).message;
    if (typeof m === 'string') message = m;
  } catch {
    // not a Status object: the raw text is the message
  }
  return new CalicoError('CALICO_ERR_IO', `kube-apiserver ${what} ${path}: ${r.status} ${message}`);
}
