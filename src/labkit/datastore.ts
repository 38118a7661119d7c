/**
 * The lab's datastore, as every component reaches it: the embedded SQLite file in the run dir, or a private
 * etcd (Debian's `/usr/bin/etcd`). The etcd listens only on unix sockets (`--listen-client-urls
 * unix://etcd.sock:2379`, a file in its working directory), so agents in their node namespaces, CNI plugins
 * and calicoctl in the root namespace all reach it through the filesystem and no network is touched. It runs
 * inside the lab's fabric namespace, so deleting the lab's namespaces (or a sweep of a dead lab) ends it too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openBackend, type Backend } from '../datastore/index.js';
import { findEtcdBinary } from '../datastore/etcd/binary.js';
import { openSqliteBackend } from '../datastore/sqlite/sqlite-backend.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { sleep } from '../lib/async.js';
import { LabProcess } from './process.js';
import type { LabDatastoreRecord, LabState } from './state.js';
import { PRIVATE_DIR_MODE, ensureDirSync } from '../sys/files.js';

export type LabDatastoreChoice = 'embedded' | 'etcd' | 'kubernetes';

const CLIENT_SOCKET = 'etcd.sock:2379';
const PEER_SOCKET = 'peer.sock:2380';

export function parseDatastoreChoice(text: string): LabDatastoreChoice | undefined {
  return text === 'embedded' || text === 'etcd' ? text : undefined;
}

/** Why `--datastore etcd` cannot run here, or false. */
export function etcdUnavailableReason(): string | false {
  return findEtcdBinary() === undefined ? 'no etcd binary (apt-get install etcd-server)' : false;
}

export function labDatastore(state: Pick<LabState, 'datastore'>): LabDatastoreRecord {
  return state.datastore ?? { type: 'embedded' };
}

/** The datastore variables every lab component is given (agents, CNI plugins, calicoctl). */
export function labDatastoreEnv(
  state: Pick<LabState, 'datastore' | 'datastorePath'>,
): Record<string, string> {
  const ds = labDatastore(state);
  switch (ds.type) {
    case 'embedded':
      return { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: state.datastorePath };
    case 'etcdv3':
      return { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: ds.endpoint };
    case 'kubernetes':
      return { DATASTORE_TYPE: 'kubernetes', KUBECONFIG: ds.kubeconfig };
  }
}

/** The etcd record of a lab whose etcd lives in `dir` (not started yet). */
export function etcdRecord(dir: string): LabDatastoreRecord & { type: 'etcdv3' } {
  const path = join(dir, CLIENT_SOCKET);
  if (Buffer.byteLength(path) > 100)
    throw new CalicoError('CALICO_ERR_USAGE', `run dir path too long for unix sockets: ${dir}`);
  return { type: 'etcdv3', endpoint: `unix://${path}`, dir };
}

export async function openLabBackend(state: Pick<LabState, 'datastore' | 'datastorePath'>): Promise<Backend> {
  const ds = labDatastore(state);
  switch (ds.type) {
    case 'embedded':
      return openSqliteBackend({ path: state.datastorePath, synchronous: 'normal' });
    case 'etcdv3':
      return openBackend({ datastoreType: 'etcdv3', etcd: { endpoints: [ds.endpoint] } });
    case 'kubernetes':
      return openBackend({ datastoreType: 'kubernetes', kubeconfig: ds.kubeconfig });
  }
}

/**
 * Starts the lab's etcd inside `netns` (detached when the lab is) and waits (bounded) until a client can read
 * through its socket. Records the pid in `ds`.
 */
export async function startLabEtcd(
  ds: LabDatastoreRecord & { type: 'etcdv3' },
  netns: string,
  options: { readonly detached: boolean; readonly timeoutMs?: number; readonly signal?: AbortSignal },
): Promise<LabProcess> {
  const binary = findEtcdBinary();
  if (binary === undefined)
    throw new CalicoError('CALICO_ERR_USAGE', 'no etcd binary (apt-get install etcd-server)');
  ensureDirSync(ds.dir, { mode: PRIVATE_DIR_MODE });
  const peer = `unix://${PEER_SOCKET}`;
  const client = `unix://${CLIENT_SOCKET}`;
  const proc = LabProcess.spawn({
    netns,
    cwd: ds.dir,
    command: binary,
    args: [
      ...['--name', 'lab', '--data-dir', join(ds.dir, 'data')],
      ...['--listen-client-urls', client, '--advertise-client-urls', client],
      ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
      ...['--initial-cluster', `lab=${peer}`, '--logger', 'zap', '--log-level', 'warn'],
    ],
    logFile: join(ds.dir, 'etcd.log'),
    detached: options.detached,
  });
  ds.pid = proc.pid;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last = 'socket not there yet';
  for (;;) {
    options.signal?.throwIfAborted();
    if (proc.exitStatus !== undefined)
      throw new CalicoError('CALICO_ERR_IO', `etcd ${proc.exitStatus}:\n${proc.logTail()}`);
    if (existsSync(join(ds.dir, CLIENT_SOCKET))) {
      const ok = await probeEtcd(ds).then(
        () => true,
        (e: unknown) => {
          last = errorMessage(e);
          return false;
        },
      );
      if (ok) return proc;
    }
    if (Date.now() >= deadline) {
      await proc.kill();
      throw new CalicoError('CALICO_ERR_IO', `etcd not ready: ${last}\n${proc.logTail()}`);
    }
    await sleep(100);
  }
}

async function probeEtcd(ds: LabDatastoreRecord & { type: 'etcdv3' }): Promise<void> {
  const backend = await openBackend({ datastoreType: 'etcdv3', etcd: { endpoints: [ds.endpoint] } });
  try {
    await backend.list({ kind: 'IPPool' });
  } finally {
    await backend.close();
  }
}
