/**
 * A pod sandbox of the lab kubelet: the pod's network namespace, its network from the `calico` CNI plugin
 * (run in the node's namespace as kubelet's runtime would, cni.ts) plus the lab's hairpin (plumbing.ts: the
 * pod's connections to its own address cross the node, where policy judges them as truth tables do), and a
 * probe agent serving every containerPort (probe-client.ts). Each sandbox has a record `<dir>/<pod uid>.json`
 * written before anything is created, so a restarted kubelet adopts a sandbox whose namespace still exists and
 * removes (CNI DEL, namespace) one whose pod is gone, whatever step it had reached.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { CalicoError, errorMessage } from '../../lib/errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensureDirSync } from '../../sys/files.js';
import { processExists } from '../../sys/process.js';
import { parseIp } from '../../lib/net/ip.js';
import { cniAdd, cniDel, type CniAttachment } from '../cni.js';
import { wireCniPodHairpin } from '../plumbing.js';
import { createNamespace, deleteNamespace, listNamespaces, uniqueNamespaceName } from '../netns.js';
import { startProbeAgent, ProbeAgentClient } from '../probe-client.js';
import { LabProcess } from '../process.js';
import { containerPorts, type KubePod } from './status.js';

/** What is kept on disk per sandbox. */
export interface SandboxRecord {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly netns: string;
  /** The sandbox ("infra container") ID handed to the CNI plugin, 64 hex digits as a runtime's. */
  readonly containerId: string;
  readonly ports: readonly number[];
  /** Set once CNI ADD returned. */
  ip?: string;
  probePid?: number;
  /** When the sandbox came up (ms since the epoch). */
  started?: number;
}

/** Where the kubelet's sandboxes live and how their CNI plugin is called. */
export interface SandboxEnv {
  readonly runner: CommandRunner;
  /** Records, probe sockets and logs. */
  readonly dir: string;
  readonly cniBinDir: string;
  readonly nodeNs: string;
  readonly nodeRunDir: string;
  readonly netconf: Record<string, unknown>;
  /** Whose death makes the pod namespaces stale for the lab's namespace sweep (the kubelet's keeper). */
  readonly netnsOwnerPid: number;
  /** The pod namespaces' name prefix (the lab's, so its sweep finds them); default netns.ts's. */
  readonly netnsPrefix?: string;
  readonly detached: boolean;
}

/** A sandbox's probe agent socket and log, in the kubelet's sandbox dir. */
export function sandboxFiles(dir: string, uid: string): { socketPath: string; logFile: string } {
  const base = join(dir, uid.slice(0, 8));
  return { socketPath: `${base}.sock`, logFile: `${base}.log` };
}

/** The sandbox records in `dir` (unreadable ones are reported and skipped). */
export function readSandboxRecords(dir: string, warn: (m: string) => void): SandboxRecord[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(dir, f), 'utf8')) as SandboxRecord];
      } catch (e) {
        warn(`sandbox record ${join(dir, f)} unreadable: ${errorMessage(e)}`);
        return [];
      }
    });
}

export class Sandbox {
  readonly record: SandboxRecord;
  readonly #env: SandboxEnv;
  #probe: ProbeAgentClient | undefined;

  private constructor(env: SandboxEnv, record: SandboxRecord) {
    this.#env = env;
    this.record = record;
  }

  static recordPath(dir: string, uid: string): string {
    return join(dir, `${uid}.json`);
  }

  /** The records on disk (unreadable ones are reported and skipped: a sweep cannot act on them). */
  static load(env: SandboxEnv, warn: (m: string) => void): Sandbox[] {
    return readSandboxRecords(env.dir, warn).map((r) => new Sandbox(env, r));
  }

  /** A new sandbox for `pod` (nothing created yet; `start` does it). */
  static create(env: SandboxEnv, pod: KubePod): Sandbox {
    return new Sandbox(env, {
      uid: pod.metadata.uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      netns: uniqueNamespaceName(env.netnsPrefix, env.netnsOwnerPid),
      containerId: randomBytes(32).toString('hex'),
      ports: containerPorts(pod),
    });
  }

  #save(): void {
    ensureDirSync(this.#env.dir, { mode: PRIVATE_DIR_MODE });
    writeFileSync(Sandbox.recordPath(this.#env.dir, this.record.uid), JSON.stringify(this.record), {
      mode: PRIVATE_FILE_MODE,
    });
  }

  #attachment(): CniAttachment {
    return {
      binDir: this.#env.cniBinDir,
      nodeNs: this.#env.nodeNs,
      podNs: this.record.netns,
      containerId: this.record.containerId,
      namespace: this.record.namespace,
      name: this.record.name,
      netconf: this.#env.netconf,
      nodeRunDir: this.#env.nodeRunDir,
      podUid: this.record.uid,
    };
  }

  #files(): { socketPath: string; logFile: string } {
    return sandboxFiles(this.#env.dir, this.record.uid);
  }

  get running(): boolean {
    return this.record.ip !== undefined && this.#probe !== undefined;
  }

  /** Namespace, CNI ADD, probe agent. On failure what was made is removed again and the error rethrown. */
  async start(signal?: AbortSignal): Promise<void> {
    const opt = signal === undefined ? {} : { signal };
    this.#save();
    try {
      await createNamespace(this.#env.runner, this.record.netns, opt);
      const { ip } = await cniAdd(this.#env.runner, this.#attachment(), opt);
      this.record.ip = ip;
      this.#save();
      // The lab's hairpin: a pod's connections to its own address cross the node and its policy.
      const family = parseIp(ip)?.family ?? 4;
      await wireCniPodHairpin(this.#env.runner, { podNs: this.record.netns, ip, family }, opt);
      await this.#startProbe();
      this.record.started = Date.now();
      this.#save();
    } catch (e) {
      await this.remove().catch(() => undefined);
      throw e;
    }
  }

  async #startProbe(): Promise<void> {
    const agent = await startProbeAgent({
      netns: this.record.netns,
      ports: this.record.ports,
      detached: this.#env.detached,
      ...this.#files(),
    });
    this.#probe = agent.client;
    this.record.probePid = agent.process.pid;
  }

  /**
   * Takes over a sandbox a previous kubelet left: true when its namespace and address are there (the probe
   * agent is restarted if it died); false when it is not whole (the caller removes it).
   */
  async adopt(namespaces: readonly string[]): Promise<boolean> {
    if (!namespaces.includes(this.record.netns) || this.record.ip === undefined) return false;
    const pid = this.record.probePid;
    if (pid !== undefined && processExists(pid)) {
      try {
        this.#probe = await ProbeAgentClient.connect(this.#files().socketPath, { timeoutMs: 5000 });
        return true;
      } catch {
        await LabProcess.adopt(pid).kill();
      }
    }
    await this.#startProbe();
    this.#save();
    return true;
  }

  /** CNI DEL (idempotent), the namespace (and the probe agent in it), the record. */
  async remove(): Promise<void> {
    this.#probe?.close();
    this.#probe = undefined;
    const present = (await listNamespaces(this.#env.runner)).includes(this.record.netns);
    const errors: string[] = [];
    await cniDel(this.#env.runner, this.#attachment()).catch((e: unknown) => errors.push(errorMessage(e)));
    if (present) await deleteNamespace(this.#env.runner, this.record.netns);
    if (errors.length > 0)
      throw new CalicoError(
        'CALICO_ERR_IO',
        `sandbox of ${this.record.namespace}/${this.record.name}: ${errors.join('; ')}`,
      );
    rmSync(Sandbox.recordPath(this.#env.dir, this.record.uid), { force: true });
    rmSync(this.#files().socketPath, { force: true });
  }
}
