/**
 * DNS policy in calico-node (docs/design/dns-policy.md): the node-local DNS proxy, the learner and the kernel's
 * domain sets, wired to the dataplane's messages.
 *
 *   configUpdate (dnsTrustedServers, dnsPolicyMode, dnsExtraTTL, dnsCache*, dnsLogs*)
 *   hostMetadataUpdate (this node's addresses: where the proxy listens)
 *   domainSetUpdate / domainSetRemove (set id -> patterns)
 *        │
 *   DnsProxy listener per trusted server ──► steering routes (DNAT) ──► loop.kick()
 *   answer ──► DnsLearner.learn ──► LearnedSetWriter.programLearned ──► reply released (DelayDNSResponse)
 *                               └─► dns.log line, felix_dns_* metrics
 *   a (re)created kernel set ──► re-programmed from the cache; cache file saved every dnsCacheSaveInterval
 *
 * Trusted servers given as addresses are proxied for the node's address family; `k8s-service:` entries are
 * resolved to the Service's cluster IP and ports by `resolveService` when the agent has one (the Kubernetes
 * datastore), and otherwise reported once and skipped (their answers are then not learned: fail closed).
 */
import type { DataplaneMessage, WorkloadEndpointMsg } from '../calc/messages.js';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import { parseTrustedDnsServer } from '../api/domains.js';
import type { LearnedSetWriter, LearnedElement as KernelElement } from '../dataplane/nftables/learned.js';
import type { DnsSteeringRoute } from '../dataplane/rules/dns-steering.js';
import { domainSetName } from '../dataplane/rules/names.js';
import { DnsProxy, type DnsAnswerEvent, type DnsProxyLogger } from '../dns/proxy.js';
import { DnsProxyStats } from '../dns/stats.js';
import { DEFAULT_DNS_LOG_DIR, DnsLogWriter } from '../dns/log.js';
import { errorMessage } from '../lib/errors.js';
import { ipToString } from '../lib/net/ip.js';
import { DnsNameCache } from '../model/dns-cache.js';
import { DnsLearner, type LearnedElement } from '../model/dns-learner.js';
import { readDnsCacheFile, writeDnsCacheFile } from './dns-cache-file.js';
import { DnsPolicyMetrics } from './dns-metrics.js';
import type { AgentLogger } from './log.js';

export interface DnsServer {
  readonly ip: string;
  readonly port: number;
}

export interface DnsPolicyDeps {
  readonly log: AgentLogger;
  readonly nodeName: string;
  /** Where the agent's run files are (the cache file and DNS logs follow it when left at their defaults). */
  readonly runDir: string;
  readonly writer: LearnedSetWriter;
  readonly steering: { setRoutes(routes: readonly DnsSteeringRoute[]): void };
  readonly kick: () => void;
  readonly metrics: DnsPolicyMetrics;
  readonly workloads: () => Iterable<WorkloadEndpointMsg>;
  /** `k8s-service:` trusted servers: the Service's addresses and DNS ports, if the agent can know them. */
  readonly resolveService?: (namespace: string, name: string) => readonly DnsServer[] | undefined;
  readonly now?: () => number;
}

const DEFAULT_CACHE_FILE = '/var/run/calico/felix-dns-cache.txt';
const DEFAULT_RUN_DIR = '/var/run/calico';
const EXPIRE_EVERY_MS = 1_000;

function key(s: DnsServer): string {
  return s.ip.includes(':') ? `[${s.ip}]:${s.port}` : `${s.ip}:${s.port}`;
}

export class DnsPolicyRuntime {
  readonly #d: DnsPolicyDeps;
  readonly #now: () => number;
  readonly #learner: DnsLearner;
  #config: FelixConfig | undefined;
  #nodeIps: { v4?: string; v6?: string } = {};
  /** server key -> its proxy (one listener, same port for UDP and TCP). */
  readonly #listeners = new Map<string, { server: DnsServer; host: string; port: number; proxy: DnsProxy }>();
  /** Counters of proxies closed since start (metrics stay monotonic). */
  readonly #retired = new DnsProxyStats();
  #reconciling: Promise<void> = Promise.resolve();
  #warned = new Set<string>();
  #expireTimer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #unsubscribe: () => void;
  #restored = false;
  #logs: { dir: string; flushMs: number; writer: DnsLogWriter } | undefined;

  constructor(deps: DnsPolicyDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#learner = new DnsLearner(new DnsNameCache({ now: this.#now }), { now: this.#now });
    deps.metrics.attach(
      () => [this.#retired, ...[...this.#listeners.values()].map((l) => l.proxy.stats)],
      () => this.#learner.programmedCount,
    );
    this.#unsubscribe = deps.writer.onLearnedSetsReset((names) => {
      this.#reprogram(names);
    });
    this.#expireTimer = setInterval(() => {
      this.#learner.expire();
    }, EXPIRE_EVERY_MS);
    this.#expireTimer.unref();
  }

  /** The learned names, for `status`, tests and the flow logs' pending traces (one cache for the agent's life). */
  get cache(): DnsNameCache {
    return this.#learner.cache;
  }

  onMessages(msgs: readonly DataplaneMessage[]): void {
    let servers = false;
    for (const m of msgs) {
      if (m.kind === 'configUpdate') {
        this.#configChanged(m.config);
        servers = true;
      } else if (m.kind === 'hostMetadataUpdate' && m.hostname === this.#d.nodeName) {
        this.#nodeIps = {
          ...(m.metadata.ipv4Addr !== undefined ? { v4: m.metadata.ipv4Addr } : {}),
          ...(m.metadata.ipv6Addr !== undefined ? { v6: m.metadata.ipv6Addr.split('/')[0] ?? '' } : {}),
        };
        servers = true;
      } else if (m.kind === 'domainSetUpdate') {
        // The kernel sets are (re)declared by the next apply, whose reset event programs them.
        this.#learner.setDomainSet(m.id, m.domains);
      } else if (m.kind === 'domainSetRemove') {
        this.#learner.removeDomainSet(m.id);
      }
    }
    if (servers) this.#reconcileListeners();
  }

  /** The trusted servers behind `k8s-service:` entries changed: re-plan the proxies. */
  refreshServers(): void {
    this.#reconcileListeners();
  }

  #configChanged(c: FelixConfig): void {
    const first = this.#config === undefined;
    this.#config = c;
    this.#learner.cache.setExtraTtl(c.dnsExtraTTL);
    if (first) void this.#restore();
    if (this.#saveTimer !== undefined) clearInterval(this.#saveTimer);
    if (c.dnsCacheSaveInterval > 0) {
      this.#saveTimer = setInterval(() => void this.#save(), c.dnsCacheSaveInterval);
      this.#saveTimer.unref();
    }
    this.#configureLogs(c);
    if (c.dnsPolicyMode === 'DelayDeniedPacket' || c.dnsPolicyMode === 'Inline')
      this.#warnOnce(
        `mode:${c.dnsPolicyMode}`,
        `dnsPolicyMode ${c.dnsPolicyMode} is handled as DelayDNSResponse (answers are held until programmed)`,
      );
  }

  get #cacheFile(): string {
    const f = this.#config?.dnsCacheFile ?? DEFAULT_CACHE_FILE;
    return f === DEFAULT_CACHE_FILE && this.#d.runDir !== DEFAULT_RUN_DIR
      ? `${this.#d.runDir}/felix-dns-cache.txt`
      : f;
  }

  /** dns.log: FelixConfiguration dnsLogsFile*; the default directory follows a moved run directory. */
  #configureLogs(c: FelixConfig): void {
    const dir =
      c.dnsLogsFileDirectory === DEFAULT_DNS_LOG_DIR && this.#d.runDir !== DEFAULT_RUN_DIR
        ? `${this.#d.runDir}/dnslogs`
        : c.dnsLogsFileDirectory;
    const want = c.dnsLogsFileEnabled ? { dir, flushMs: c.dnsLogsFlushInterval } : undefined;
    if (this.#logs?.dir === want?.dir && this.#logs?.flushMs === want?.flushMs) return;
    const old = this.#logs;
    this.#logs = undefined;
    if (old !== undefined) void old.writer.close();
    if (want === undefined) return;
    const writer = new DnsLogWriter({
      dir: want.dir,
      flushIntervalMs: want.flushMs,
      resolveClient: (ip) => this.#podOf(ip),
      log: this.#dnsLog,
    });
    writer.start();
    this.#logs = { ...want, writer };
  }

  async #restore(): Promise<void> {
    const epoch = this.#config?.dnsCacheEpoch ?? 0;
    const { records, problem } = await readDnsCacheFile(this.#cacheFile, epoch, this.#now());
    if (problem !== undefined) this.#d.log.warn('DNS cache file ignored', { file: this.#cacheFile, problem });
    this.#learner.restore(records);
    this.#restored = true;
    if (records.length > 0) {
      this.#d.log.info('DNS cache restored', { file: this.#cacheFile, records: records.length });
      this.#reprogramIds(this.#learner.domainSetIds);
    }
  }

  async #save(): Promise<void> {
    if (!this.#restored) return;
    try {
      await writeDnsCacheFile(this.#cacheFile, {
        epoch: this.#config?.dnsCacheEpoch ?? 0,
        records: this.#learner.cache.snapshot(),
      });
    } catch (e) {
      this.#d.log.warn('could not write the DNS cache file', {
        file: this.#cacheFile,
        error: errorMessage(e),
      });
    }
  }

  #warnOnce(k: string, msg: string, fields: Record<string, unknown> = {}): void {
    if (this.#warned.has(k)) return;
    this.#warned.add(k);
    this.#d.log.warn(msg, fields);
  }

  /** The trusted servers this node can proxy now. */
  #trustedServers(): DnsServer[] {
    const out = new Map<string, DnsServer>();
    for (const entry of this.#config?.dnsTrustedServers ?? []) {
      const r = parseTrustedDnsServer(entry);
      if (!r.ok) continue; // validated with the configuration; never reached
      const t = r.value;
      if (t.kind === 'address') {
        const ip = ipToString(t.ip);
        out.set(key({ ip, port: t.port }), { ip, port: t.port });
        continue;
      }
      const resolved = this.#d.resolveService?.(t.namespace, t.name);
      if (resolved === undefined) {
        this.#warnOnce(
          `svc:${entry}`,
          'dnsTrustedServers: a k8s-service entry needs the Kubernetes datastore; its answers are not learned',
          { entry },
        );
        continue;
      }
      for (const s of resolved) out.set(key(s), s);
    }
    return [...out.values()];
  }

  #reconcileListeners(): void {
    this.#reconciling = this.#reconciling.then(async () => {
      if (this.#stopped) return;
      const want = new Map(
        this.#trustedServers()
          .filter((s) => (s.ip.includes(':') ? this.#nodeIps.v6 : this.#nodeIps.v4) !== undefined)
          .map((s) => [key(s), s]),
      );
      for (const [k, l] of this.#listeners) {
        const host = l.server.ip.includes(':') ? this.#nodeIps.v6 : this.#nodeIps.v4;
        if (!want.has(k) || host !== l.host) {
          this.#listeners.delete(k);
          this.#retire(l.proxy);
          await l.proxy.close();
        }
      }
      for (const [k, server] of want) {
        if (this.#listeners.has(k)) continue;
        const host = (server.ip.includes(':') ? this.#nodeIps.v6 : this.#nodeIps.v4) ?? '';
        const proxy = this.#newProxy();
        try {
          const l = await proxy.listen({ host, port: 0, upstream: server });
          this.#listeners.set(k, { server, host, port: l.port, proxy });
          this.#d.log.info('DNS proxy listening for trusted server', {
            server: k,
            proxy: `${host}:${l.port}`,
          });
        } catch (e) {
          await proxy.close();
          this.#d.log.error('DNS proxy cannot listen; answers of this server are not learned', {
            server: k,
            host,
            error: errorMessage(e),
          });
        }
      }
      this.#d.steering.setRoutes(
        [...this.#listeners.values()].map((l) => ({
          server: l.server,
          proxyUdp: { ip: l.host, port: l.port },
          proxyTcp: { ip: l.host, port: l.port },
        })),
      );
      this.#d.kick();
    });
  }

  /** The agent's logger in the shape the proxy and the DNS log writer take. */
  readonly #dnsLog: DnsProxyLogger = {
    debug: (msg, f) => {
      this.#d.log.debug(msg, f);
    },
    warn: (msg, f) => {
      this.#d.log.warn(msg, f);
    },
  };

  #newProxy(): DnsProxy {
    return new DnsProxy({
      onAnswer: (ev) => this.#onAnswer(ev),
      log: this.#dnsLog,
    });
  }

  #retire(p: DnsProxy): void {
    const c = this.#retired.counters;
    for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] += p.stats.counters[k];
  }

  #podOf(ip: string): { namespace: string; name: string } | undefined {
    for (const w of this.#d.workloads()) {
      const nets = ip.includes(':') ? w.ipv6Nets : w.ipv4Nets;
      if (nets.some((n) => n.split('/')[0] === ip)) {
        const [namespace = w.namespace, name = w.name] = w.display.split('/');
        return { namespace, name };
      }
    }
    return undefined;
  }

  async #onAnswer(ev: DnsAnswerEvent): Promise<void> {
    this.#d.metrics.answerSeen();
    this.#logs?.writer.record(ev);
    const els = this.#learner.learn(ev.answers);
    if (els.length === 0) return;
    const started = performance.now();
    const done = this.#program(els);
    if (this.#config?.dnsPolicyMode === 'NoDelay') {
      done.catch(() => undefined);
      return;
    }
    await done;
    this.#d.metrics.programmingDelay((performance.now() - started) / 1000);
  }

  async #program(els: readonly LearnedElement[]): Promise<void> {
    const now = this.#now();
    const entries: KernelElement[] = els.map((e) => ({
      set: domainSetName(e.family, e.setId),
      addr: e.ip,
      timeoutS: Math.ceil((e.expiresAt - now) / 1000),
    }));
    try {
      await this.#d.writer.programLearned(entries);
      this.#learner.markProgrammed(els);
    } catch (e) {
      this.#d.metrics.programmingFailed();
      this.#d.log.warn('could not program learned DNS addresses', {
        count: els.length,
        error: errorMessage(e),
      });
      throw e;
    }
  }

  #reprogram(names: readonly string[]): void {
    const wanted = new Set(names);
    const ids = this.#learner.domainSetIds.filter(
      (id) => wanted.has(domainSetName(4, id)) || wanted.has(domainSetName(6, id)),
    );
    this.#reprogramIds(ids);
  }

  #reprogramIds(ids: readonly string[]): void {
    const els = this.#learner.reprogram(ids);
    if (els.length > 0) this.#program(els).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#expireTimer !== undefined) clearInterval(this.#expireTimer);
    if (this.#saveTimer !== undefined) clearInterval(this.#saveTimer);
    await this.#reconciling.catch(() => undefined);
    await this.#save();
    for (const l of this.#listeners.values()) await l.proxy.close();
    this.#listeners.clear();
    await this.#logs?.writer.close();
  }
}
