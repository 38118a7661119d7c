/** Kubernetes Namespace (v1): only metadata (labels) matters to policy; other fields are ignored. */
import { decodeEnvelopeMeta, type KindCodec } from '../codec.js';
import { K8S_CORE_API_VERSION } from '../meta.js';
import { checkDnsLabel } from '../names.js';
import type { Namespace } from './types.js';

export const namespaceCodec: KindCodec<'Namespace', Namespace> = {
  kind: 'Namespace',
  apiVersion: K8S_CORE_API_VERSION,
  documentKind: 'Namespace',
  decode(doc, issues) {
    const metadata = decodeEnvelopeMeta(doc, issues, {
      kind: 'Namespace',
      checkName: (n) => checkDnsLabel(n),
      topLevel: [],
      strict: false,
    });
    return metadata === undefined
      ? undefined
      : { apiVersion: K8S_CORE_API_VERSION, kind: 'Namespace', metadata };
  },
};
