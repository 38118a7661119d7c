/**
 * The credentials a request carries, from a kubeconfig's user or the in-cluster service account: a client
 * certificate (in the TLS options), a bearer token (fixed, or re-read from a file that rotates), basic
 * auth, or an exec credential plugin run as client-go runs it (`KUBERNETES_EXEC_INFO`, an `ExecCredential`
 * on stdout, kept until its `expirationTimestamp`).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { UsageError, errorMessage } from '../../lib/errors.js';
import type { ConnectionConfig, ExecConfig } from './kubeconfig.js';

/** A token file is read again after this long (client-go re-reads a projected token every minute). */
const TOKEN_FILE_TTL_MS = 60_000;
const EXEC_TIMEOUT_MS = 30_000;

export interface Credential {
  readonly authorization?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

interface Cached {
  readonly value: Credential;
  readonly until: number;
}

export class Credentials {
  readonly #config: ConnectionConfig;
  readonly #now: () => number;
  #cached: Cached | undefined;
  #pending: Promise<Credential> | undefined;

  constructor(config: ConnectionConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
  }

  /** The credential for the next request. */
  async current(): Promise<Credential> {
    const c = this.#cached;
    if (c !== undefined && this.#now() < c.until) return c.value;
    this.#pending ??= this.#load().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #load(): Promise<Credential> {
    const cfg = this.#config;
    let value: Credential;
    let until = Number.POSITIVE_INFINITY;
    if (cfg.exec !== undefined) {
      const got = await runExecPlugin(cfg.exec, cfg.source);
      value = got.credential;
      until = got.expires ?? until;
    } else if (cfg.token !== undefined) {
      value = { authorization: `Bearer ${cfg.token}` };
    } else if (cfg.tokenFile !== undefined) {
      let token: string;
      try {
        token = (await readFile(cfg.tokenFile, 'utf8')).trim();
      } catch (e) {
        throw new UsageError(`kubeconfig ${cfg.source}: token file ${cfg.tokenFile}: ${errorMessage(e)}`);
      }
      value = { authorization: `Bearer ${token}` };
      until = this.#now() + TOKEN_FILE_TTL_MS;
    } else if (cfg.basic !== undefined) {
      const pair = Buffer.from(`${cfg.basic.username}:${cfg.basic.password}`).toString('base64');
      value = { authorization: `Basic ${pair}` };
    } else {
      value = {};
    }
    this.#cached = { value, until };
    return value;
  }
}

/** Runs a client-go exec credential plugin once; the credential and when it expires (ms since epoch). */
export async function runExecPlugin(
  exec: ExecConfig,
  source: string,
): Promise<{ credential: Credential; expires?: number }> {
  const fail = (why: string): never => {
    throw new UsageError(`kubeconfig ${source}: exec plugin ${exec.command}: ${why}`);
  };
  const info = { apiVersion: exec.apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of exec.env) env[e.name] = e.value;
  const stdout = await new Promise<string>((resolveOut, reject) => {
    execFile(
      exec.command,
      [...exec.args],
      { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8' },
      (err, out, errText) => {
        if (err !== null) {
          reject(
            new UsageError(
              `kubeconfig ${source}: exec plugin ${exec.command}: ${errText.trim() || err.message}`,
            ),
          );
        } else {
          resolveOut(out);
        }
      },
    );
  });
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return fail('did not print an ExecCredential (not JSON)');
  }
  const status =
    typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['status'] : undefined;
  if (typeof status !== 'object' || status === null) return fail('printed an ExecCredential without status');
  const s = status as Record<string, unknown>;
  const token = typeof s['token'] === 'string' ? s['token'] : undefined;
  const cert =
    typeof s['clientCertificateData'] === 'string' ? Buffer.from(s['clientCertificateData']) : undefined;
  const key = typeof s['clientKeyData'] === 'string' ? Buffer.from(s['clientKeyData']) : undefined;
  if (token === undefined && (cert === undefined || key === undefined)) {
    return fail('printed neither a token nor a client certificate and key');
  }
  const expiresAt = typeof s['expirationTimestamp'] === 'string' ? Date.parse(s['expirationTimestamp']) : NaN;
  return {
    credential: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(cert === undefined || key === undefined ? {} : { cert, key }),
    },
    ...(Number.isNaN(expiresAt) ? {} : { expires: expiresAt }),
  };
}
