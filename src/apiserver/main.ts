#!/usr/bin/env node
/**
 * calico-apiserver: Calico's aggregated API server for `projectcalico.org/v3`, composition root.
 *
 *   kube-apiserver (aggregator, front-proxy client cert + X-Remote-* headers)
 *        │  APIService v3.projectcalico.org -> Service calico-apiserver/calico-api
 *        ▼
 *   server.ts: TLS ── auth.ts (request-header authentication, SubjectAccessReview authorisation)
 *        ├── discovery.ts (/apis, /apis/projectcalico.org, /apis/projectcalico.org/v3)
 *        └── rest.ts, watch.ts (verbs; decodeResource validation on every write)
 *                 └── Kubernetes datastore backend (crd.projectcalico.org/v1 custom resources)
 *
 * Flags are the generic API server's names Calico's API server is started with: `--secure-port`,
 * `--bind-address`, `--tls-cert-file`, `--tls-private-key-file`, `--kubeconfig` (else `$KUBECONFIG`, then
 * in a pod its service account, then ~/.kube/config: the identity that reads Calico's custom resources,
 * the request-header ConfigMap and asks SubjectAccessReviews), and `--requestheader-*` to override what kube-apiserver publishes.
 * SIGTERM/SIGINT close watches and the listener, then the backend.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openKubernetesBackend } from '../datastore/kubernetes/backend.js';
import { KubeTransport } from '../datastore/kubernetes/transport.js';
import { errorMessage } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { DelegatingAuthorizer, loadRequestHeaderConfig, type RequestHeaderConfig } from './auth.js';
import { CalicoApiServer } from './server.js';

const USAGE = `Usage: calico-apiserver --tls-cert-file=FILE --tls-private-key-file=FILE [options]

Options:
  --secure-port=PORT                       HTTPS port (default 443; 0 picks a free one)
  --bind-address=ADDRESS                   address to listen on (default 0.0.0.0)
  --tls-cert-file=FILE                     serving certificate (PEM)
  --tls-private-key-file=FILE              its key (PEM)
  --kubeconfig=FILE                        kube-apiserver credentials (default $KUBECONFIG, in-cluster, ~/.kube/config)
  --requestheader-client-ca-file=FILE      CA of the front proxy's client certificate (default: kube-system/
                                           extension-apiserver-authentication)
  --requestheader-allowed-names=NAMES      allowed common names, comma-separated (with the CA file)
  -h, --help                               this text`;

export interface ApiServerFlags {
  readonly port: number;
  readonly bindAddress: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** undefined: $KUBECONFIG, else in a pod its ServiceAccount, else ~/.kube/config (KubeTransport.open). */
  readonly kubeconfig: string | undefined;
  readonly clientCaFile: string | undefined;
  readonly allowedNames: readonly string[];
}

export function parseFlags(argv: readonly string[]): ApiServerFlags | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'secure-port': { type: 'string' },
      'bind-address': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-private-key-file': { type: 'string' },
      kubeconfig: { type: 'string' },
      'requestheader-client-ca-file': { type: 'string' },
      'requestheader-allowed-names': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const port = Number(values['secure-port'] ?? '443');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--secure-port: ${JSON.stringify(values['secure-port'])} is not a port number`);
  }
  const certFile = values['tls-cert-file'];
  const keyFile = values['tls-private-key-file'];
  if (certFile === undefined || keyFile === undefined) {
    throw new Error('--tls-cert-file and --tls-private-key-file are required');
  }
  const names = values['requestheader-allowed-names'];
  return {
    port,
    bindAddress: values['bind-address'] ?? '0.0.0.0',
    certFile,
    keyFile,
    kubeconfig: values.kubeconfig,
    clientCaFile: values['requestheader-client-ca-file'],
    allowedNames: names === undefined || names === '' ? [] : names.split(','),
  };
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} calico-apiserver ${line}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    process.stderr.write(`calico-apiserver: ${errorMessage(e)}\n${USAGE}\n`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const cert = readFileSync(flags.certFile);
  const key = readFileSync(flags.keyFile);
  const kube = KubeTransport.open(flags.kubeconfig);
  const requestHeader: RequestHeaderConfig =
    flags.clientCaFile === undefined
      ? await loadRequestHeaderConfig(kube)
      : {
          clientCa: readFileSync(flags.clientCaFile, 'utf8'),
          allowedNames: flags.allowedNames,
          usernameHeaders: ['X-Remote-User'],
          groupHeaders: ['X-Remote-Group'],
          extraHeaderPrefixes: ['X-Remote-Extra-'],
        };
  const backend = await openKubernetesBackend(
    flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig },
  );
  const server = new CalicoApiServer({
    backend,
    requestHeader,
    authorizer: new DelegatingAuthorizer(kube),
    cert,
    key,
    log,
  });
  let port: number;
  try {
    port = await server.listen(flags.port, flags.bindAddress);
  } catch (e) {
    await backend.close();
    kube.close();
    throw e;
  }
  log(`serving projectcalico.org/v3 on https://${flags.bindAddress}:${port}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('stopping');
  await server.close();
  await backend.close();
  kube.close();
  return 0;
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`calico-apiserver: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}
