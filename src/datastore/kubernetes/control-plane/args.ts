/**
 * The command lines of the control plane's programs (pure), with the flags scripts/smoke-kubernetes.sh showed
 * to work: everything on 127.0.0.1, every file given by absolute path under the control plane's directory (so
 * a process is recognisable as this control plane's, sweep.ts).
 */
import { join } from 'node:path';
import { SERVICE_CIDR, type Pki } from './pki.js';

export interface ControlPlanePorts {
  readonly etcd: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
}

export interface ControlPlaneFiles {
  readonly dir: string;
  readonly pki: Pki;
  /** The controller manager's and scheduler's kubeconfigs. */
  readonly kcmKubeconfig: string;
  readonly schedKubeconfig: string;
}

export function etcdArgs(f: ControlPlaneFiles, p: ControlPlanePorts): string[] {
  const client = `http://127.0.0.1:${p.etcd}`;
  const peer = `http://127.0.0.1:${p.etcdPeer}`;
  return [
    ...['--name', 'kube', '--data-dir', join(f.dir, 'etcd-data')],
    ...['--listen-client-urls', client, '--advertise-client-urls', client],
    ...[
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `kube=${peer}`,
    ],
    ...['--logger', 'zap', '--log-level', 'warn'],
  ];
}

/**
 * kube-apiserver: TLS with our CA, Node,RBAC authorization, the service-account keys, the front-proxy CA
 * (published for the delegated authentication of the controller manager and scheduler). The service range is
 * configuration only; with the endpoint reconciler off the API server does not publish its loopback address
 * as the `kubernetes` Service's endpoint. `disableAdmissionPlugins` turns off default admission plugins by name
 * (the KDD tests turn off NamespaceLifecycle, to write in namespaces no Namespace object exists for).
 * `featureGates` sets API server feature gates (the conformance driver turns off StrictIPCIDRValidation).
 */
export function apiserverArgs(
  f: ControlPlaneFiles,
  p: ControlPlanePorts,
  options: {
    readonly disableAdmissionPlugins?: readonly string[];
    readonly featureGates?: Readonly<Record<string, boolean>>;
  } = {},
): string[] {
  const { pki } = f;
  const disabled = options.disableAdmissionPlugins ?? [];
  const gates = Object.entries(options.featureGates ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return [
    ...['--etcd-servers', `http://127.0.0.1:${p.etcd}`],
    ...['--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', `${p.apiserver}`],
    ...['--tls-cert-file', pki.crt('apiserver'), '--tls-private-key-file', pki.key('apiserver')],
    ...['--client-ca-file', pki.crt('ca'), '--authorization-mode', 'Node,RBAC'],
    ...['--service-account-issuer', 'https://kubernetes.default.svc'],
    ...['--service-account-key-file', pki.saPub, '--service-account-signing-key-file', pki.saKey],
    ...[
      '--service-cluster-ip-range',
      SERVICE_CIDR,
      '--endpoint-reconciler-type',
      'none',
      '--profiling=false',
      // Privileged pods allowed, as kubeadm's API server does (calico-node's DaemonSet is privileged).
      '--allow-privileged=true',
    ],
    ...['--requestheader-client-ca-file', pki.crt('front-proxy-ca')],
    ...['--requestheader-allowed-names', 'front-proxy-client'],
    ...[
      '--requestheader-username-headers',
      'X-Remote-User',
      '--requestheader-group-headers',
      'X-Remote-Group',
    ],
    ...['--requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
    ...['--proxy-client-cert-file', pki.crt('front-proxy-client')],
    ...['--proxy-client-key-file', pki.key('front-proxy-client')],
    ...(disabled.length > 0 ? ['--disable-admission-plugins', disabled.join(',')] : []),
    ...(gates.length > 0 ? [`--feature-gates=${gates.join(',')}`] : []),
  ];
}

function common(
  pki: Pki,
  kubeconfig: string,
  port: number,
  serving: 'kcm-serving' | 'sched-serving',
): string[] {
  return [
    ...['--bind-address', '127.0.0.1', '--secure-port', `${port}`, '--client-ca-file', pki.crt('ca')],
    ...['--tls-cert-file', pki.crt(serving), '--tls-private-key-file', pki.key(serving)],
    ...['--kubeconfig', kubeconfig, '--authentication-kubeconfig', kubeconfig],
    ...['--authorization-kubeconfig', kubeconfig, '--leader-elect=true', '--profiling=false'],
  ];
}

export function controllerManagerArgs(f: ControlPlaneFiles, p: ControlPlanePorts): string[] {
  return [
    ...common(f.pki, f.kcmKubeconfig, p.controllerManager, 'kcm-serving'),
    ...['--use-service-account-credentials', '--service-account-private-key-file', f.pki.saKey],
    ...['--root-ca-file', f.pki.crt('ca')],
  ];
}

export function schedulerArgs(f: ControlPlaneFiles, p: ControlPlanePorts): string[] {
  return common(f.pki, f.schedKubeconfig, p.scheduler, 'sched-serving');
}
