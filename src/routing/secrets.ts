/**
 * Where BGP passwords come from. Calico reads a `secretKeyRef` from a Kubernetes Secret in calico-node's
 * namespace (confd's secret watcher); without the Kubernetes API a host keeps its secrets in a directory,
 * one file per key:
 *
 *   <CALICO_SECRETS_DIR, default /etc/calico/secrets>/<secret name>/<key>
 *
 * which is also the layout of Kubernetes Secrets mounted as volumes, one directory per secret. A file's
 * content is the password; one trailing line break (`echo pw > file`) is not part of it. Lookups are
 * synchronous against what the source holds now (a future Kubernetes source answers from its watch cache),
 * and `SecretSource` is the seam such a source implements. Values are never logged: errors name the secret,
 * the key and the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../lib/result.js';

export const DEFAULT_SECRETS_DIR = '/etc/calico/secrets';
/** The environment variable naming the secrets directory. */
export const SECRETS_DIR_ENV = 'CALICO_SECRETS_DIR';

/** A source of secret values, looked up by secret name and key. */
export interface SecretSource {
  /** The value, or why it cannot be had (never containing the value). */
  get(name: string, key: string): Result<string, string>;
  /** Where secrets are looked up, for messages (`directory /etc/calico/secrets`). */
  readonly description: string;
}

/** Kubernetes object names (DNS-1123 subdomain): lowercase alphanumerics, '-' and '.', at most 253. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Secret data keys: alphanumerics, '-', '_' and '.', at most 253, and never '.' or '..'. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Why `name`/`key` cannot name a secret (they become path components), or undefined when they can. */
export function checkSecretRef(name: string, key: string): string | undefined {
  if (name === '') return 'the secretKeyRef has no secret name';
  if (name.length > 253 || !SECRET_NAME.test(name)) return `invalid secret name ${JSON.stringify(name)}`;
  if (key.length > 253 || !SECRET_KEY.test(key) || key === '.' || key === '..')
    return `invalid secret key ${JSON.stringify(key)}`;
  return undefined;
}

/** The text of a secret file: one trailing "\n" or "\r\n" is not part of the value. */
export function secretFileValue(content: string): string {
  return content.replace(/\r?\n$/, '');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Secrets as files `<dir>/<secret name>/<key>`. */
export class DirectorySecretSource implements SecretSource {
  readonly dir: string;
  readonly description: string;

  constructor(dir: string) {
    this.dir = dir;
    this.description = `directory ${dir}`;
  }

  get(name: string, key: string): Result<string, string> {
    const invalid = checkSecretRef(name, key);
    if (invalid !== undefined) return err(invalid);
    const file = join(this.dir, name, key);
    try {
      return ok(secretFileValue(readFileSync(file, 'utf8')));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // Calico's messages for a secret that does not exist and a key the secret does not have.
        return isDirectory(join(this.dir, name))
          ? err(`secret ${name} does not have key ${key} (no file ${file})`)
          : err(`no data available for secret ${name} (no directory ${join(this.dir, name)})`);
      }
      return err(`cannot read secret ${name} key ${key} from ${file}: ${code ?? String(e)}`);
    }
  }
}

/** Secrets held in memory, keyed `<secret name>/<key>` (tests, and callers that already hold the values). */
export class StaticSecretSource implements SecretSource {
  readonly description = 'static values';
  readonly #values: ReadonlyMap<string, string>;

  constructor(values: Readonly<Record<string, string>>) {
    this.#values = new Map(Object.entries(values));
  }

  get(name: string, key: string): Result<string, string> {
    const v = this.#values.get(`${name}/${key}`);
    return v === undefined ? err(`secret ${name} does not have key ${key}`) : ok(v);
  }
}
