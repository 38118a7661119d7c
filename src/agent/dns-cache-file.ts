/**
 * FelixConfiguration `dnsCacheFile`: the learned DNS mappings written every `dnsCacheSaveInterval` and at stop,
 * read at start, so a restarted agent re-programs them before its first answer (docs/design/dns-policy.md).
 * One JSON document `{ version, epoch, records }`, records with wall-clock expiry (ms since the epoch of 1970);
 * expired records, a file of another `dnsCacheEpoch` (changing the epoch discards the cache, as in Calico
 * Enterprise) and a file that does not parse are ignored with a warning: the cache only ever adds
 * permissions the trusted servers gave, so starting empty is safe. Written atomically (temp file + rename).
 */
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DnsRecord } from '../model/dns-cache.js';
import { errorMessage } from '../lib/errors.js';

const VERSION = 1;

export interface DnsCacheFileContent {
  readonly epoch: number;
  readonly records: readonly DnsRecord[];
}

function isRecord(x: unknown): x is DnsRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  if (typeof r.name !== 'string' || typeof r.expiresAt !== 'number' || !Number.isFinite(r.expiresAt))
    return false;
  if (r.kind === 'address') return typeof r.ip === 'string';
  if (r.kind === 'cname') return typeof r.target === 'string';
  return false;
}

/** The live records of the file at `path` for `epoch`, or [] with the reason why not. */
export async function readDnsCacheFile(
  path: string,
  epoch: number,
  now: number,
): Promise<{ records: DnsRecord[]; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'ENOENT' ? { records: [] } : { records: [], problem: errorMessage(e) };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { records: [], problem: `not JSON: ${errorMessage(e)}` };
  }
  const d = doc as { version?: unknown; epoch?: unknown; records?: unknown };
  if (d.version !== VERSION || !Array.isArray(d.records))
    return { records: [], problem: `unknown format (version ${JSON.stringify(d.version)})` };
  if (d.epoch !== epoch)
    return { records: [], problem: `epoch ${String(d.epoch)} is not dnsCacheEpoch ${epoch}` };
  const records = d.records.filter(isRecord).filter((r) => r.expiresAt > now);
  return { records };
}

export async function writeDnsCacheFile(path: string, content: DnsCacheFileContent): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify({ version: VERSION, epoch: content.epoch, records: content.records }), {
    mode: 0o600,
  });
  await rename(tmp, path);
}
