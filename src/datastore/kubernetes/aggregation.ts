/**
 * The objects that put calico-apiserver behind kube-apiserver's aggregation layer, with Calico's names
 * (`manifests/apiserver.yaml`: Namespace `calico-apiserver`, Service `calico-api`, APIService
 * `v3.projectcalico.org`, groupPriorityMinimum 1500, versionPriority 200; pure), and its serving certificate
 * (`issueServingCert`, openssl). Used by calico-apiserver's test and the lab (labkit/kube/apiserver.ts).
 *
 * **How the aggregator reaches a server on loopback.** kube-apiserver resolves an APIService's Service in one
 * of two ways (k8s.io/apiserver `pkg/util/proxy` v0.37.2):
 * - by default (`ResolveCluster`): a ClusterIP Service's cluster IP (needs kube-proxy, which does not run
 *   here), or an **ExternalName** Service's name: `https://<externalName>:<APIService port>`;
 * - with `--enable-aggregator-routing` (`ResolveEndpoint`): an endpoint address of the Service's
 *   EndpointSlices. Endpoints and EndpointSlices refuse loopback addresses (`ValidateEndpointIP`: "may not be
 *   in the loopback range"), and ExternalName Services are refused in this mode.
 * So with no kube-proxy the backend is an ExternalName Service `localhost` and the APIService's port is the
 * port calico-apiserver listens on (kube-apiserver's own flags unchanged). The aggregator checks the serving
 * certificate against the APIService's `caBundle` for the name `calico-api.calico-apiserver.svc` (whatever the
 * Service type), so the serving certificate must carry that DNS name.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const APISERVER_NAMESPACE = 'calico-apiserver';
export const APISERVER_SERVICE = 'calico-api';
export const APISERVICE_NAME = 'v3.projectcalico.org';

/** The DNS name the aggregator verifies the serving certificate for. */
export const SERVING_NAME = `${APISERVER_SERVICE}.${APISERVER_NAMESPACE}.svc`;

export interface RegistrationOptions {
  /** The port calico-apiserver listens on, on the API server's host. */
  readonly port: number;
  /** PEM of the CA that signed the serving certificate. */
  readonly caBundlePem: string;
  /** The host the aggregator connects to (default `localhost`). */
  readonly host?: string;
}

/** Namespace, Service and APIService, in apply order. */
export function aggregationObjects(o: RegistrationOptions): Record<string, unknown>[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APISERVER_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: APISERVER_SERVICE, namespace: APISERVER_NAMESPACE },
      spec: {
        type: 'ExternalName',
        externalName: o.host ?? 'localhost',
        ports: [{ name: 'apiserver', port: o.port, protocol: 'TCP', targetPort: o.port }],
      },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: APISERVICE_NAME },
      spec: {
        group: 'projectcalico.org',
        version: 'v3',
        groupPriorityMinimum: 1500,
        versionPriority: 200,
        service: { name: APISERVER_SERVICE, namespace: APISERVER_NAMESPACE, port: o.port },
        caBundle: Buffer.from(o.caBundlePem, 'utf8').toString('base64'),
      },
    },
  ];
}

export interface ServingCert {
  readonly cert: string;
  readonly key: string;
}

/**
 * `<dir>/apiserver-serving.{crt,key}` for `SERVING_NAME`, localhost and 127.0.0.1, signed by
 * `<pkiDir>/ca.{crt,key}` (the control plane's CA; openssl, P-256, valid a year).
 */
export function issueServingCert(pkiDir: string, dir: string): ServingCert {
  const key = join(dir, 'apiserver-serving.key');
  const csr = join(dir, 'apiserver-serving.csr');
  const cert = join(dir, 'apiserver-serving.crt');
  const ext = join(dir, 'apiserver-serving.ext');
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
  };
  run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  run(['req', '-new', '-key', key, '-subj', '/CN=calico-apiserver', '-out', csr]);
  writeFileSync(
    ext,
    `extendedKeyUsage=serverAuth\nsubjectAltName=DNS:${SERVING_NAME},DNS:localhost,IP:127.0.0.1\n`,
    { mode: 0o600 },
  );
  run([
    ...['x509', '-req', '-in', csr, '-CA', join(pkiDir, 'ca.crt'), '-CAkey', join(pkiDir, 'ca.key')],
    ...['-CAcreateserial', '-days', '365', '-extfile', ext, '-out', cert],
  ]);
  return { cert, key };
}
