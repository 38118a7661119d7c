/**
 * `dnsTrustedServers` entries `k8s-service:[namespace/]name` (the default is `k8s-service:kube-dns`) on the
 * Kubernetes datastore: the Service's cluster IPs with its UDP/TCP ports (what pods address when kube-proxy
 * runs), and the addresses and ports of its EndpointSlices (what they address without it, and what a cluster IP
 * leads to). Read from kube-apiserver when first asked and every `refreshMs` after; a change calls `onChange` so
 * the DNS runtime re-plans its proxies. Until the first read, or when the Service does not exist, the entry
 * resolves to nothing: its answers are not learned (fail closed).
 */
import { errorMessage } from '../lib/errors.js';
import type { Logger } from './log.js';
import type { DnsServer } from './dns-policy.js';

/** What this needs of a Kubernetes API client (KubeTransport.request). */
export interface KubeGetter {
  request(method: 'GET', path: string): Promise<{ readonly status: number; readonly body: unknown }>;
}

interface ServiceJson {
  readonly spec?: {
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ports?: readonly { readonly port?: number; readonly protocol?: string }[];
  };
}

interface SliceListJson {
  readonly items?: readonly {
    readonly endpoints?: readonly {
      readonly addresses?: readonly string[];
      readonly conditions?: { readonly ready?: boolean };
    }[];
    readonly ports?: readonly { readonly port?: number; readonly protocol?: string }[];
  }[];
}

const DNS_PROTOCOLS = new Set(['UDP', 'TCP', undefined]);

function ports(
  list: readonly { readonly port?: number; readonly protocol?: string }[] | undefined,
): number[] {
  return [
    ...new Set(
      (list ?? [])
        .filter((p) => DNS_PROTOCOLS.has(p.protocol) && Number.isInteger(p.port))
        .map((p) => p.port ?? 0),
    ),
  ];
}

/** The servers a Service and its EndpointSlices stand for (pure; exported for tests). */
export function serviceDnsServers(
  svc: ServiceJson | undefined,
  slices: SliceListJson | undefined,
): DnsServer[] {
  const out = new Map<string, DnsServer>();
  const add = (ip: string, port: number): void => {
    out.set(`${ip}|${port}`, { ip, port });
  };
  const ips = svc?.spec?.clusterIPs ?? (svc?.spec?.clusterIP !== undefined ? [svc.spec.clusterIP] : []);
  for (const ip of ips) if (ip !== 'None' && ip !== '') for (const p of ports(svc?.spec?.ports)) add(ip, p);
  for (const s of slices?.items ?? []) {
    const ps = ports(s.ports);
    for (const e of s.endpoints ?? [])
      if (e.conditions?.ready !== false) for (const ip of e.addresses ?? []) for (const p of ps) add(ip, p);
  }
  return [...out.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

export class KubeServiceResolver {
  readonly #kube: KubeGetter;
  readonly #log: Logger;
  readonly #onChange: () => void;
  readonly #refreshMs: number;
  readonly #known = new Map<string, DnsServer[] | undefined>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: { kube: KubeGetter; log: Logger; onChange: () => void; refreshMs?: number }) {
    this.#kube = opts.kube;
    this.#log = opts.log;
    this.#onChange = opts.onChange;
    this.#refreshMs = opts.refreshMs ?? 30_000;
  }

  /** The Service's servers as last read; undefined before the first read (which this starts). */
  resolve(namespace: string, name: string): readonly DnsServer[] | undefined {
    const k = `${namespace}/${name}`;
    if (!this.#known.has(k)) {
      this.#known.set(k, undefined);
      void this.#read(k);
      this.#schedule();
    }
    return this.#known.get(k);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => {
      for (const k of this.#known.keys()) void this.#read(k);
    }, this.#refreshMs);
    this.#timer.unref();
  }

  async #read(k: string): Promise<void> {
    const [namespace = '', name = ''] = k.split('/');
    const ns = encodeURIComponent(namespace);
    try {
      const svc = await this.#kube.request(
        'GET',
        `/api/v1/namespaces/${ns}/services/${encodeURIComponent(name)}`,
      );
      const slices = await this.#kube.request(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${name}`)}`,
      );
      if (this.#stopped) return;
      const servers = serviceDnsServers(
        svc.status === 200 ? (svc.body as ServiceJson) : undefined,
        slices.status === 200 ? (slices.body as SliceListJson) : undefined,
      );
      if (svc.status !== 200)
        this.#log.warn('dnsTrustedServers: Service not readable; its answers are not learned', {
          service: k,
          status: svc.status,
        });
      const before = JSON.stringify(this.#known.get(k) ?? null);
      this.#known.set(k, servers);
      if (JSON.stringify(servers) !== before) {
        this.#log.info('dnsTrustedServers: Service resolved', {
          service: k,
          servers: servers.map((s) => `${s.ip}:${s.port}`),
        });
        this.#onChange();
      }
    } catch (e) {
      this.#log.warn('dnsTrustedServers: cannot read Service; retrying', {
        service: k,
        error: errorMessage(e),
      });
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}
