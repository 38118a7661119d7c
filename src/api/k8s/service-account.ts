/** Kubernetes ServiceAccount (v1): only metadata (labels) matters to policy; other fields are ignored. */
import { decodeEnvelopeMeta, type KindCodec } from '../codec.js';
import { K8S_CORE_API_VERSION } from '../meta.js';
import { checkSubdomain } from '../names.js';
import type { ServiceAccount } from './types.js';

export const serviceAccountCodec: KindCodec<'ServiceAccount', ServiceAccount> = {
  kind: 'ServiceAccount',
  apiVersion: K8S_CORE_API_VERSION,
  documentKind: 'ServiceAccount',
  decode(doc, issues) {
    const metadata = decodeEnvelopeMeta(doc, issues, {
      kind: 'ServiceAccount',
      checkName: (n) => checkSubdomain(n),
      topLevel: [],
      strict: false,
    });
    return metadata === undefined
      ? undefined
      : { apiVersion: K8S_CORE_API_VERSION, kind: 'ServiceAccount', metadata };
  },
};
