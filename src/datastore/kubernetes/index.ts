/**
 * The Kubernetes datastore's resource mapping (docs/design/kubernetes-datastore.md): where each kind lives,
 * the conversions to and from custom resources and core objects, and the CRDs to install. Pure.
 */
export {
  CRD_API_VERSION,
  CRD_GROUP,
  CRD_VERSION,
  crdKinds,
  kddPlacement,
  kindOfCrd,
  refusalMessage,
  writeRefusal,
  type CoreKind,
  type CoreSource,
  type CrdNames,
  type DerivedWrite,
  type KddPlacement,
  type WriteOp,
} from './kinds.js';
export { fromCustomResource, METADATA_ANNOTATION, toCustomResource, type CustomResource } from './crd.js';
export { calicoCrds, crdObjectName, type CustomResourceDefinition } from './crd-definitions.js';
export { calicoCrdSchemas, crdSchema } from './crd-schemas.js';
export {
  builtInProfiles,
  coreKey,
  derivedResources,
  podIpAnnotations,
  podIpsClearedAnnotations,
  podWorkloadEndpoint,
  type CoreObject,
} from './core.js';
export { kubeNodeToCalico, mergeCalicoNodeIntoKube, type KubeNode } from './node-annotations.js';
export { convertUid } from './uid.js';
