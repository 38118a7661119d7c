/**
 * The control plane's PKI, made with `openssl` in its directory as kubeadm lays it out: one CA; the API
 * server's serving certificate (SANs 127.0.0.1, localhost, kubernetes, kubernetes.default(.svc(.cluster.local))
 * and the first service IP); the controller manager's and scheduler's serving certificates; client
 * certificates for the admin (O=system:masters) and for system:kube-controller-manager and
 * system:kube-scheduler (their built-in RBAC users); the service-account key pair; and a separate front-proxy
 * CA with the API server's front-proxy client certificate (the API server publishes that CA for the delegated
 * authentication of the controller manager and scheduler). Every key is 0600. Files already there are kept,
 * so a control plane restarted in the same directory keeps its identity.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CalicoError } from '../../../lib/errors.js';
import { PRIVATE_FILE_MODE } from '../../../sys/files.js';

const run = promisify(execFile);

/** Kubernetes' first address of the service range (the `kubernetes` Service's ClusterIP). */
export const SERVICE_CIDR = '10.96.0.0/12';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
const DAYS = '365';

/** A certificate and its key, by base name in the PKI directory (`<name>.crt`, `<name>.key`). */
export type CertName =
  | 'ca'
  | 'front-proxy-ca'
  | 'apiserver'
  | 'kcm-serving'
  | 'sched-serving'
  | 'admin'
  | 'kcm'
  | 'sched'
  | 'front-proxy-client';

export interface Pki {
  readonly dir: string;
  crt(name: CertName): string;
  key(name: CertName): string;
  /** The service-account signing key and its public half. */
  readonly saKey: string;
  readonly saPub: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    dir,
    crt: (name) => join(dir, `${name}.crt`),
    key: (name) => join(dir, `${name}.key`),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
}

const SERVING = 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost';
const API_SANS = [
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
  `IP:${KUBERNETES_SERVICE_IP}`,
];
const CLIENT = 'extendedKeyUsage=clientAuth';

/** What each leaf certificate is: subject, extensions, issuing CA. */
const LEAVES: readonly { name: CertName; subject: string; ext: string; ca: CertName }[] = [
  { name: 'apiserver', subject: '/CN=kube-apiserver', ext: `${SERVING},${API_SANS.join(',')}`, ca: 'ca' },
  { name: 'kcm-serving', subject: '/CN=kube-controller-manager', ext: SERVING, ca: 'ca' },
  { name: 'sched-serving', subject: '/CN=kube-scheduler', ext: SERVING, ca: 'ca' },
  { name: 'admin', subject: '/O=system:masters/CN=calico-lab-admin', ext: CLIENT, ca: 'ca' },
  { name: 'kcm', subject: '/CN=system:kube-controller-manager', ext: CLIENT, ca: 'ca' },
  { name: 'sched', subject: '/CN=system:kube-scheduler', ext: CLIENT, ca: 'ca' },
  { name: 'front-proxy-client', subject: '/CN=front-proxy-client', ext: CLIENT, ca: 'front-proxy-ca' },
];

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new CalicoError(
      'CALICO_ERR_IO',
      `openssl ${args[0] ?? ''} in ${dir}: ${err.stderr ?? err.message}`,
    );
  }
}

async function newKey(dir: string, path: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  chmodSync(path, PRIVATE_FILE_MODE);
}

/** Generates what is missing of the PKI in `dir` (an existing 0700 directory). */
export async function ensurePki(dir: string): Promise<Pki> {
  const pki = pkiPaths(dir);
  for (const ca of ['ca', 'front-proxy-ca'] as const) {
    if (existsSync(pki.crt(ca))) continue;
    await newKey(dir, pki.key(ca));
    const subject = `/CN=calico-lab-${ca}`;
    await openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      pki.key(ca),
      '-out',
      pki.crt(ca),
      '-days',
      DAYS,
      '-subj',
      subject,
    ]);
  }
  for (const leaf of LEAVES) {
    if (existsSync(pki.crt(leaf.name))) continue;
    const key = pki.key(leaf.name);
    const csr = join(dir, `${leaf.name}.csr`);
    const ext = join(dir, `${leaf.name}.ext`);
    await newKey(dir, key);
    await openssl(dir, ['req', '-new', '-key', key, '-subj', leaf.subject, '-out', csr]);
    writeFileSync(ext, `${leaf.ext}\n`, { mode: PRIVATE_FILE_MODE });
    await openssl(dir, [
      ...['x509', '-req', '-in', csr, '-CA', pki.crt(leaf.ca), '-CAkey', pki.key(leaf.ca)],
      ...['-CAcreateserial', '-days', DAYS, '-extfile', ext, '-out', pki.crt(leaf.name)],
    ]);
  }
  if (!existsSync(pki.saPub)) {
    await newKey(dir, pki.saKey);
    await openssl(dir, ['pkey', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
  }
  return pki;
}
