/**
 * Test support: write bytes under a resource's key the way another tool (or corruption) would, bypassing
 * every check of the backends. For the embedded store the write goes through a second SQLite connection:
 * by default it is a normal modification (new revision, event, so watches see it); `{ event: false }` only
 * rewrites the object row in place, as on-disk corruption would (watches see nothing, lists see the bad row,
 * the event log keeps the value last written through the API). For etcd it is a plain put.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Etcd3 } from 'etcd3';
import { kindInfo } from '../../api/kinds.js';
import type { ResourceKey } from '../api.js';
import type { DatastoreConfig } from '../config.js';
import { etcdKey } from '../etcd/keys.js';
import { keyPath } from '../resource.js';

export interface RawWriteOptions {
  /** Embedded store only: false rewrites the row without a new revision or event. Default true. */
  readonly event?: boolean;
}

/** Stores `text` under `key`; returns the key's modification revision afterwards. */
export async function writeRawValue(
  config: DatastoreConfig,
  key: ResourceKey,
  text: string,
  opts: RawWriteOptions = {},
): Promise<number> {
  switch (config.datastoreType) {
    case 'embedded':
      return writeRawSqlite(config.datastorePath, key, text, opts.event ?? true);
    case 'etcdv3':
      return writeRawEtcd(config.etcd.endpoints, key, text);
    case 'kubernetes':
      throw new Error('no raw writes to a kubernetes datastore');
  }
}

function writeRawSqlite(path: string, key: ResourceKey, text: string, event: boolean): number {
  const db = new BetterSqlite3(path, { timeout: 5000 });
  try {
    return db
      .transaction(() => {
        const kp = keyPath(key);
        const row = db
          .prepare<[string, string], { mod_rev: number }>(
            'SELECT mod_rev FROM objects WHERE kind = ? AND path = ?',
          )
          .get(key.kind, kp);
        if (!event) {
          if (row === undefined) throw new Error(`no row to corrupt for ${key.kind}/${kp}`);
          db.prepare('UPDATE objects SET value = ? WHERE kind = ? AND path = ?').run(text, key.kind, kp);
          return row.mod_rev;
        }
        const rev = db
          .prepare<[], number>("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value")
          .pluck()
          .get()!;
        if (row === undefined) {
          db.prepare(
            'INSERT INTO objects (kind, path, namespace, name, create_rev, mod_rev, value) VALUES (?, ?, ?, ?, ?, ?, ?)',
          ).run(key.kind, kp, key.namespace ?? null, key.name, rev, rev, text);
        } else {
          db.prepare('UPDATE objects SET mod_rev = ?, value = ? WHERE kind = ? AND path = ?').run(
            rev,
            text,
            key.kind,
            kp,
          );
        }
        db.prepare(
          'INSERT INTO events (revision, type, kind, namespace, name, value, ts) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(rev, 'set', key.kind, key.namespace ?? null, key.name, text, Date.now());
        return rev;
      })
      .immediate();
  } finally {
    db.close();
  }
}

async function writeRawEtcd(endpoints: readonly string[], key: ResourceKey, text: string): Promise<number> {
  const plural = kindInfo(key.kind)?.plural;
  if (plural === undefined) throw new Error(`unknown kind ${key.kind}`);
  const client = new Etcd3({ hosts: [...endpoints] });
  try {
    const res = await client.put(etcdKey(key, plural)).value(text).exec();
    return Number(res.header.revision);
  } finally {
    client.close();
  }
}
