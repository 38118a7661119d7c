/**
 * The one status protocol between calico-node and the rest of the node (the CNI plugin, the lab, tests),
 * through files because namespaces do not isolate the filesystem (Calico keeps the same in one names
 * package for Felix and the CNI plugin). Everything about the files lives here: paths, schema, encoding,
 * validation, atomic writes and sync/async reads.
 *
 *   <runDir>/status.json                        the agent's state, rewritten after every apply (schema below)
 *   <runDir>/endpoint-status/<namespace>/<wep>  one file per local workload endpoint whose policy is programmed
 *
 * Writes are atomic (temp file + rename), so a reader never sees half a file. Readers validate what they
 * read and ignore fields they do not know (a newer agent may add some); a file that is absent, unreadable
 * or invalid reads as `undefined` (the `parse*` functions say why).
 *
 * status.json, schema version 1 (every field but the sections is always present):
 *
 *   { "version": 1, "pid": 4242, "nodeName": "node1", "updatedAt": "2026-01-02T03:04:05.000Z",
 *     "inSync": true,              datastore in sync (syncer InSync seen)
 *     "dataplaneInSync": true,     first apply after InSync done
 *     "appliedRevision": 1234,     datastore revision whose effects are all in the kernel
 *     "lastApplyError": null,      the last failed apply's error, null after a success
 *     "datastore": { "syncStatus": "InSync", "connected": true, "inSync": true, "lastError": null,
 *                    "connectedChangedAt": "2026-01-02T03:00:00.000Z",
 *                    "invalidResources": [ { "key": "NetworkPolicy(ns/p)", "revision": 77,
 *                                            "problem": "spec.selector: ...", "lastGoodRevision": 70 } ] },
 *     "dataplane": { "consecutiveFailures": 0, "failuresTotal": 2,
 *                    "lastFailure": { "at": "2026-01-02T03:04:00.000Z", "error": "nft: ..." } } }
 *
 * `datastore.invalidResources`: stored resources whose current value does not decode or validate; the agent
 * keeps enforcing their last good version (`lastGoodRevision`), or nothing when there never was one (null).
 * `connected`: the datastore answered its last probe, list or watch event; `inSync`: connected and InSync.
 * Filled by the agent's datastore health (agent/datastore-health.ts).
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { err, ok, type Result } from '../lib/result.js';
import { FILE_MODE, ensureDirSync, writeFileAtomic } from '../sys/files.js';

export const STATUS_SCHEMA_VERSION = 1;
export const STATUS_FILE = 'status.json';
export const ENDPOINT_STATUS_DIR = 'endpoint-status';

export type SyncStatus = 'WaitForDatastore' | 'ResyncInProgress' | 'InSync';

/** One stored resource whose current value is invalid, as status.json shows it. */
export interface InvalidResourceStatus {
  /** `Kind(namespace/name)` */
  readonly key: string;
  /** Revision of the bad value. */
  readonly revision: number;
  readonly problem: string;
  /** Revision of the version still applied; null when the key was never valid (nothing applied). */
  readonly lastGoodRevision: number | null;
}

/** The `datastore` section of status.json. */
export interface DatastoreStatus {
  /** The datastore answered its last probe, list or watch event. */
  readonly connected: boolean;
  /** Connected and the syncer is InSync: the agent's view is current. */
  readonly inSync: boolean;
  readonly syncStatus: SyncStatus | null;
  /** Why it is not connected (null when connected). */
  readonly lastError: string | null;
  /** When `connected` last changed (RFC 3339), or null before the first answer. */
  readonly connectedChangedAt: string | null;
  readonly invalidResources: readonly InvalidResourceStatus[];
}

export interface DataplaneStatus {
  readonly consecutiveFailures: number;
  readonly failuresTotal: number;
  readonly lastFailure: { readonly at: string; readonly error: string } | null;
}

export interface AgentStatus {
  readonly version: number;
  readonly pid: number;
  readonly nodeName: string;
  readonly updatedAt: string;
  readonly inSync: boolean;
  readonly dataplaneInSync: boolean;
  readonly appliedRevision: number;
  readonly lastApplyError: string | null;
  readonly datastore?: DatastoreStatus;
  readonly dataplane?: DataplaneStatus;
}

export interface EndpointStatus {
  readonly status: 'up';
  /** The datastore revision of the apply that programmed the endpoint. */
  readonly appliedRevision: number;
}

// ── paths ────────────────────────────────────────────────────────────────────────────────────────────

export function agentStatusPath(runDir: string): string {
  return join(runDir, STATUS_FILE);
}

export function endpointStatusDir(runDir: string): string {
  return join(runDir, ENDPOINT_STATUS_DIR);
}

export function endpointStatusPath(statusDir: string, namespace: string, wepName: string): string {
  return join(statusDir, namespace, wepName);
}

/** The run directory of an endpoint-status directory (the CNI configuration names the latter). */
export function runDirOfStatusDir(statusDir: string): string {
  return dirname(statusDir);
}

// ── validation ───────────────────────────────────────────────────────────────────────────────────────

type Obj = Readonly<Record<string, unknown>>;

function object(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function datastoreSection(v: unknown): DatastoreStatus | undefined {
  const o = object(v);
  if (o === undefined) return undefined;
  const s = o['syncStatus'];
  const syncStatus = s === 'WaitForDatastore' || s === 'ResyncInProgress' || s === 'InSync' ? s : null;
  if (typeof o['connected'] !== 'boolean' || !isStringOrNull(o['lastError'])) return undefined;
  const listed = Array.isArray(o['invalidResources']) ? (o['invalidResources'] as unknown[]) : [];
  const invalidResources = listed.flatMap((h): InvalidResourceStatus[] => {
    const r = object(h);
    if (r === undefined || typeof r['key'] !== 'string') return [];
    const lastGood = r['lastGoodRevision'];
    return [
      {
        key: r['key'],
        revision: typeof r['revision'] === 'number' ? r['revision'] : -1,
        problem: typeof r['problem'] === 'string' ? r['problem'] : '',
        lastGoodRevision: typeof lastGood === 'number' ? lastGood : null,
      },
    ];
  });
  const changedAt = o['connectedChangedAt'];
  return {
    connected: o['connected'],
    inSync: typeof o['inSync'] === 'boolean' ? o['inSync'] : o['connected'] && syncStatus === 'InSync',
    syncStatus,
    lastError: o['lastError'],
    connectedChangedAt: typeof changedAt === 'string' ? changedAt : null,
    invalidResources,
  };
}

function dataplaneSection(v: unknown): DataplaneStatus | undefined {
  const o = object(v);
  if (
    o === undefined ||
    typeof o['consecutiveFailures'] !== 'number' ||
    typeof o['failuresTotal'] !== 'number'
  )
    return undefined;
  const f = object(o['lastFailure']);
  const lastFailure =
    f !== undefined && typeof f['at'] === 'string' && typeof f['error'] === 'string'
      ? { at: f['at'], error: f['error'] }
      : null;
  return { consecutiveFailures: o['consecutiveFailures'], failuresTotal: o['failuresTotal'], lastFailure };
}

function jsonObject(text: string): Result<Obj, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return err(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = object(raw);
  return o === undefined ? err('not a JSON object') : ok(o);
}

/** Validates status.json text; unknown fields are ignored, a malformed optional section is dropped. */
export function parseAgentStatus(text: string): Result<AgentStatus, string> {
  const parsed = jsonObject(text);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  const version = o['version'] ?? STATUS_SCHEMA_VERSION;
  const checks: [string, boolean][] = [
    ['version', typeof version === 'number' && Number.isInteger(version) && version >= 1],
    ['pid', typeof o['pid'] === 'number'],
    ['inSync', typeof o['inSync'] === 'boolean'],
    ['dataplaneInSync', typeof o['dataplaneInSync'] === 'boolean'],
    ['appliedRevision', typeof o['appliedRevision'] === 'number'],
    ['lastApplyError', isStringOrNull(o['lastApplyError'])],
  ];
  const bad = checks.filter(([, good]) => !good).map(([f]) => f);
  if (bad.length > 0) return err(`invalid or missing ${bad.join(', ')}`);
  const datastore = datastoreSection(o['datastore']);
  const dataplane = dataplaneSection(o['dataplane']);
  return ok({
    version: version as number,
    pid: o['pid'] as number,
    nodeName: typeof o['nodeName'] === 'string' ? o['nodeName'] : '',
    updatedAt: typeof o['updatedAt'] === 'string' ? o['updatedAt'] : '',
    inSync: o['inSync'] as boolean,
    dataplaneInSync: o['dataplaneInSync'] as boolean,
    appliedRevision: o['appliedRevision'] as number,
    lastApplyError: o['lastApplyError'] as string | null,
    ...(datastore !== undefined ? { datastore } : {}),
    ...(dataplane !== undefined ? { dataplane } : {}),
  });
}

/** An endpoint's file: any JSON object (its presence is what counts); `appliedRevision` when the agent wrote one. */
export function parseEndpointStatus(text: string): Result<EndpointStatus, string> {
  const parsed = jsonObject(text);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  return ok({
    status: 'up',
    appliedRevision: typeof o['appliedRevision'] === 'number' ? o['appliedRevision'] : -1,
  });
}

export function encodeAgentStatus(s: AgentStatus): string {
  return `${JSON.stringify(s)}\n`;
}

// ── reads ────────────────────────────────────────────────────────────────────────────────────────────

function fromText<T>(text: string | undefined, parse: (t: string) => Result<T, string>): T | undefined {
  if (text === undefined) return undefined;
  const r = parse(text);
  return r.ok ? r.value : undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // Absent (agent not started, endpoint not programmed) or unreadable: there is no status.
    return undefined;
  }
}

function readTextSync(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // As readText: no status.
    return undefined;
  }
}

/** `<runDir>/status.json`, or undefined when absent or invalid. */
export async function readAgentStatus(runDir: string): Promise<AgentStatus | undefined> {
  return fromText(await readText(agentStatusPath(runDir)), parseAgentStatus);
}

/** As readAgentStatus, synchronously (test harnesses poll it). */
export function readAgentStatusSync(runDir: string): AgentStatus | undefined {
  return fromText(readTextSync(agentStatusPath(runDir)), parseAgentStatus);
}

export async function readEndpointStatus(
  statusDir: string,
  namespace: string,
  wepName: string,
): Promise<EndpointStatus | undefined> {
  return fromText(await readText(endpointStatusPath(statusDir, namespace, wepName)), parseEndpointStatus);
}

// ── writes (the agent) ───────────────────────────────────────────────────────────────────────────────

/** Atomic (temp file + rename), 0644 whatever the umask: a status file others could write would let them tell
 * the CNI plugin that a pod's policy is in place. */
function atomicWrite(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, text, FILE_MODE);
}

/** The agent's side: status.json after every apply, and the endpoint-status directory's contents. */
export class AgentStatusWriter {
  readonly #runDir: string;
  readonly #written = new Set<string>();
  #swept = false;

  constructor(runDir: string) {
    this.#runDir = runDir;
  }

  async writeStatus(s: Omit<AgentStatus, 'version'>): Promise<void> {
    ensureDirSync(this.#runDir);
    await atomicWrite(
      agentStatusPath(this.#runDir),
      encodeAgentStatus({ version: STATUS_SCHEMA_VERSION, ...s }),
    );
  }

  /** Makes the endpoint-status directory hold exactly these endpoints. */
  async writeEndpoints(
    endpoints: Iterable<{ readonly namespace: string; readonly name: string }>,
    revision: number,
  ): Promise<void> {
    const dir = endpointStatusDir(this.#runDir);
    ensureDirSync(dir);
    const wanted = new Set<string>();
    for (const ep of endpoints) {
      const rel = `${ep.namespace}/${ep.name}`;
      wanted.add(rel);
      if (this.#written.has(rel)) continue;
      ensureDirSync(join(dir, ep.namespace));
      const body: EndpointStatus = { status: 'up', appliedRevision: revision };
      await atomicWrite(endpointStatusPath(dir, ep.namespace, ep.name), `${JSON.stringify(body)}\n`);
      this.#written.add(rel);
    }
    if (!this.#swept) {
      // First apply after a restart: drop files of endpoints a previous instance wrote that are gone now.
      this.#swept = true;
      for (const ns of await readdir(dir).catch(() => [] as string[])) {
        for (const name of await readdir(join(dir, ns)).catch(() => [] as string[])) {
          if (!wanted.has(`${ns}/${name}`)) await rm(join(dir, ns, name), { force: true });
        }
      }
    }
    for (const rel of [...this.#written]) {
      if (wanted.has(rel)) continue;
      await rm(join(dir, rel), { force: true });
      this.#written.delete(rel);
    }
  }
}
