/**
 * The embedded store's on-disk layout and its prepared statements.
 *
 *   meta     (key, value)         'revision' = last store revision, 'compacted' = first revision still in `events`
 *   objects  (kind, path) -> create_rev, mod_rev, value JSON without resourceVersion; path = `[<ns>/]<name>`
 *   events   revision -> type ('set' | 'deleted'), kind, namespace, name, value JSON (null for deletes), ts (ms)
 *
 * Every write bumps `meta.revision` by one per object inside an IMMEDIATE transaction, so revisions are committed
 * in order and a reader that sees revision N has seen every revision below it: a watch reads `events` from its
 * next revision and can never skip one. `objects` is keyed by (kind, path) so that listing sorts like etcd keys.
 */
import type { Database, Statement } from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0), ('compacted', 1), ('schema', ${SCHEMA_VERSION});
CREATE TABLE IF NOT EXISTS objects (
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  namespace TEXT,
  name TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (kind, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('set', 'deleted')),
  kind TEXT NOT NULL,
  namespace TEXT,
  name TEXT NOT NULL,
  value TEXT,
  ts INTEGER NOT NULL
);
`;

export function createSchema(db: Database): void {
  db.exec(DDL);
}

export interface ObjectRow {
  readonly mod_rev: number;
  readonly value: string;
}

export interface ListRow {
  readonly namespace: string | null;
  readonly name: string;
  readonly mod_rev: number;
  readonly value: string;
}

export interface EventRow {
  readonly revision: number;
  readonly type: 'set' | 'deleted';
  readonly kind: string;
  readonly namespace: string | null;
  readonly name: string;
  readonly value: string | null;
}

/** Prepared once per connection. */
export interface Statements {
  readonly getMeta: Statement<[string], number>;
  readonly bumpRevision: Statement<[], number>;
  readonly setCompacted: Statement<[number]>;
  readonly getObject: Statement<[string, string], ObjectRow>;
  readonly insertObject: Statement<[string, string, string | null, string, number, number, string]>;
  readonly replaceObject: Statement<[number, string, string, string]>;
  readonly deleteObject: Statement<[string, string]>;
  readonly listKind: Statement<[string], ListRow>;
  readonly listRange: Statement<[string, string, string], ListRow>;
  readonly insertEvent: Statement<[number, string, string, string | null, string, string | null, number]>;
  readonly eventsFrom: Statement<[number, number], EventRow>;
  readonly eventsOfKindFrom: Statement<[number, string, number], EventRow>;
  readonly eventsOfNamespaceFrom: Statement<[number, string, string, number], EventRow>;
  /** The newest event of one key at or below a revision (kind, namespace or null, name, revision). */
  readonly keyEventAt: Statement<[string, string | null, string, number], EventRow>;
  readonly firstRecentEvent: Statement<[number], number>;
  readonly deleteEventsBefore: Statement<[number]>;
  readonly dataVersion: Statement<[], number>;
}

const EVENT_COLUMNS = 'revision, type, kind, namespace, name, value';

export function prepareStatements(db: Database): Statements {
  const p = <P extends unknown[], R>(sql: string, pluck = false): Statement<P, R> => {
    const s = db.prepare<P, R>(sql);
    return pluck ? s.pluck() : s;
  };
  return {
    getMeta: p('SELECT value FROM meta WHERE key = ?', true),
    bumpRevision: p("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value", true),
    setCompacted: p("UPDATE meta SET value = ? WHERE key = 'compacted'"),
    getObject: p('SELECT mod_rev, value FROM objects WHERE kind = ? AND path = ?'),
    insertObject: p(
      'INSERT INTO objects (kind, path, namespace, name, create_rev, mod_rev, value) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    replaceObject: p('UPDATE objects SET mod_rev = ?, value = ? WHERE kind = ? AND path = ?'),
    deleteObject: p('DELETE FROM objects WHERE kind = ? AND path = ?'),
    listKind: p('SELECT namespace, name, mod_rev, value FROM objects WHERE kind = ? ORDER BY path'),
    // Namespace prefix `<ns>/` up to (exclusive) `<ns>0`: '0' is the byte after '/'.
    listRange: p(
      'SELECT namespace, name, mod_rev, value FROM objects WHERE kind = ? AND path >= ? AND path < ? ORDER BY path',
    ),
    insertEvent: p(
      'INSERT INTO events (revision, type, kind, namespace, name, value, ts) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    eventsFrom: p(`SELECT ${EVENT_COLUMNS} FROM events WHERE revision >= ? ORDER BY revision LIMIT ?`),
    eventsOfKindFrom: p(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE revision >= ? AND kind = ? ORDER BY revision LIMIT ?`,
    ),
    eventsOfNamespaceFrom: p(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE revision >= ? AND kind = ? AND namespace = ? ORDER BY revision LIMIT ?`,
    ),
    keyEventAt: p(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE kind = ? AND namespace IS ? AND name = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`,
    ),
    firstRecentEvent: p('SELECT revision FROM events WHERE ts >= ? ORDER BY revision LIMIT 1', true),
    deleteEventsBefore: p('DELETE FROM events WHERE revision < ?'),
    dataVersion: p('PRAGMA data_version', true),
  };
}
