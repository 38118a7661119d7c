/**
 * calico-apiserver in the lab (`calico-lab up --kubernetes`): Calico's aggregated API server for
 * `projectcalico.org/v3` beside the lab's control plane, started as users start it
 * (`node dist/src/apiserver/main.js`), detached like the control plane, in the root namespace on 127.0.0.1.
 *
 *   <run dir>/kubernetes/calico-apiserver/   serving certificate (the lab CA's, issueServingCert), log
 *   Namespace calico-apiserver, Service calico-api (ExternalName localhost), APIService v3.projectcalico.org
 *     (datastore/kubernetes/aggregation.ts), applied server-side once the port is known
 *
 * `ensureLabApiServer` returns once the APIService is `Available` (bounded); a server that died is started
 * again (on a new port, the APIService re-applied). Its process is recognised by its command line (the
 * program and a file under its directory), so `stopLabApiServer` finds it without a record too.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeControlPlane } from '../../datastore/kubernetes/control-plane/control-plane.js';
import { pkiPaths } from '../../datastore/kubernetes/control-plane/pki.js';
import {
  APISERVICE_NAME,
  aggregationObjects,
  issueServingCert,
} from '../../datastore/kubernetes/aggregation.js';
import { waitFor } from '../../lib/async.js';
import { CalicoError } from '../../lib/errors.js';
import { PRIVATE_DIR_MODE } from '../../sys/files.js';
import { repoRoot } from '../paths.js';
import { LabProcess, nodeScriptCommand } from '../process.js';
import { saveState, type LabState } from '../state.js';

/** The program's entry script (the build's). */
export function apiServerEntry(): string {
  return join(repoRoot(), 'dist', 'src', 'apiserver', 'main.js');
}

export function labApiServerDir(runDir: string): string {
  // Under the control plane's directory (kube/lab.ts labKubeDir).
  return join(runDir, 'kubernetes', 'calico-apiserver');
}

export function labApiServerLog(runDir: string): string {
  return join(labApiServerDir(runDir), 'calico-apiserver.log');
}

/** Live calico-apiserver processes of the lab in `runDir` (entry script and a file under its directory). */
export function labApiServerProcesses(runDir: string): number[] {
  const prefix = `${labApiServerDir(runDir)}/`;
  const entry = apiServerEntry();
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return false;
      }
      return argv.includes(entry) && argv.some((a) => a.startsWith(prefix));
    });
}

type Timing = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

interface ApiServiceJson {
  readonly status?: {
    readonly conditions?: readonly { type: string; status: string; reason?: string; message?: string }[];
  };
}

/**
 * Starts calico-apiserver unless it runs, registers it with the aggregator and waits (bounded, default 60 s)
 * until the APIService `v3.projectcalico.org` is Available. Needs the control plane (`state.kubernetes`).
 */
export async function ensureLabApiServer(state: LabState, options: Timing = {}): Promise<number> {
  const cp = state.kubernetes;
  if (cp === undefined) throw new CalicoError('CALICO_ERR_BUG', 'calico-apiserver needs the control plane');
  if (!existsSync(apiServerEntry()))
    throw new CalicoError('CALICO_ERR_USAGE', `${apiServerEntry()} is missing (npm run build)`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const { api } = KubeControlPlane.attach(cp);
  const pki = pkiPaths(join(cp.dir, 'pki'));
  const running = state.calicoApiServer;
  // A server started against an earlier kube-apiserver address is started anew (it read the kubeconfig once).
  const port =
    running !== undefined &&
    running.server === cp.server &&
    labApiServerProcesses(state.runDir).includes(running.pid)
      ? running.port
      : await launch(state, timeoutMs, options.signal);
  for (const o of aggregationObjects({ port, caBundlePem: readFileSync(pki.crt('ca'), 'utf8') }))
    await api.apply(objectPath(o), o);
  let last = 'no status yet';
  await waitFor(
    async () => {
      const s = (await api.getJson(
        `/apis/apiregistration.k8s.io/v1/apiservices/${APISERVICE_NAME}`,
      )) as ApiServiceJson;
      const c = s.status?.conditions?.find((x) => x.type === 'Available');
      last = c === undefined ? 'no Available condition' : `${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`;
      return c?.status === 'True';
    },
    {
      timeoutMs,
      intervalMs: 200,
      what: `APIService ${APISERVICE_NAME} Available (log ${labApiServerLog(state.runDir)})`,
      describe: () => last,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    },
  );
  return port;
}

async function launch(state: LabState, timeoutMs: number, signal: AbortSignal | undefined): Promise<number> {
  const cp = state.kubernetes!;
  const dir = labApiServerDir(state.runDir);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await stopLabApiServer(state);
  const cert = issueServingCert(join(cp.dir, 'pki'), dir);
  const log = labApiServerLog(state.runDir);
  const { command, args } = nodeScriptCommand(new URL(`file://${apiServerEntry()}`));
  const proc = LabProcess.spawn({
    command,
    args: [
      ...args,
      ...['--kubeconfig', cp.kubeconfig, '--tls-cert-file', cert.cert, '--tls-private-key-file', cert.key],
      ...['--secure-port', '0', '--bind-address', '127.0.0.1'],
    ],
    logFile: log,
    detached: state.detached,
  });
  const from = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
  try {
    const port = await waitFor(
      () => {
        if (!proc.isRunning())
          throw new CalicoError(
            'CALICO_ERR_IO',
            `calico-apiserver ${proc.exitStatus ?? 'exited'}: ${proc.logTail(10)}`,
          );
        const m = /serving projectcalico\.org\/v3 on https:\/\/[^:]+:(\d+)/.exec(
          readFileSync(log, 'utf8').slice(from),
        );
        return m === null ? undefined : Number(m[1]);
      },
      {
        timeoutMs,
        intervalMs: 50,
        what: `calico-apiserver listening (log ${log})`,
        ...(signal !== undefined ? { signal } : {}),
      },
    );
    state.calicoApiServer = { pid: proc.pid, port, server: cp.server };
    saveState(state);
    return port;
  } catch (e) {
    await proc.stop(2000);
    throw e;
  }
}

function objectPath(o: Record<string, unknown>): string {
  const meta = o.metadata as { name: string; namespace?: string };
  switch (o.kind) {
    case 'Namespace':
      return `/api/v1/namespaces/${meta.name}`;
    case 'Service':
      return `/api/v1/namespaces/${meta.namespace ?? 'default'}/services/${meta.name}`;
    case 'APIService':
      return `/apis/apiregistration.k8s.io/v1/apiservices/${meta.name}`;
    default:
      throw new CalicoError('CALICO_ERR_BUG', `no API path for kind ${String(o.kind)}`);
  }
}

/** Stops the lab's calico-apiserver processes (SIGTERM, then SIGKILL). Returns how many there were. */
export async function stopLabApiServer(state: Pick<LabState, 'runDir' | 'calicoApiServer'>): Promise<number> {
  const pids = labApiServerProcesses(state.runDir);
  await Promise.all(pids.map((pid) => LabProcess.adopt(pid).stop(5000)));
  delete state.calicoApiServer;
  return pids.length;
}

/** The `calico-lab status` line (none when it was never started). */
export function labApiServerStatus(state: Pick<LabState, 'runDir' | 'calicoApiServer'>): string[] {
  const r = state.calicoApiServer;
  if (r === undefined) return [];
  const up = labApiServerProcesses(state.runDir).includes(r.pid);
  return [
    `calico-apiserver (projectcalico.org/v3, APIService ${APISERVICE_NAME}) https://127.0.0.1:${r.port}: ` +
      (up ? `running (pid ${r.pid})` : 'down (`calico-lab up` starts it)') +
      `; log ${labApiServerLog(state.runDir)}`,
  ];
}
