/**
 * Kubeconfig files for the control plane's clients (the admin, the controller manager, the scheduler): one
 * cluster, one user, one context, certificates embedded, so a file works wherever it is copied. Written 0600
 * (it holds a private key).
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { PRIVATE_FILE_MODE, writeFileAtomicSync } from '../../../sys/files.js';
import type { CertName, Pki } from './pki.js';

export const KUBE_CLUSTER_NAME = 'calico-lab';

/** The kubeconfig text (pure: certificates given as PEM text). */
export function renderKubeconfig(o: {
  readonly server: string;
  readonly user: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}): string {
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: KUBE_CLUSTER_NAME, cluster: { server: o.server, 'certificate-authority-data': b64(o.caPem) } },
    ],
    users: [
      {
        name: o.user,
        user: { 'client-certificate-data': b64(o.certPem), 'client-key-data': b64(o.keyPem) },
      },
    ],
    contexts: [{ name: KUBE_CLUSTER_NAME, context: { cluster: KUBE_CLUSTER_NAME, user: o.user } }],
    'current-context': KUBE_CLUSTER_NAME,
  });
}

/** Writes the kubeconfig of client `cert` (a client certificate of `pki`) for the API server at `server`. */
export function writeKubeconfig(path: string, pki: Pki, cert: CertName, server: string): void {
  const text = renderKubeconfig({
    server,
    user: cert,
    caPem: readFileSync(pki.crt('ca'), 'utf8'),
    certPem: readFileSync(pki.crt(cert), 'utf8'),
    keyPem: readFileSync(pki.key(cert), 'utf8'),
  });
  writeFileAtomicSync(path, text, { mode: PRIVATE_FILE_MODE });
}
