/**
 * OpenAPI for the `projectcalico.org/v3` group, built from the schemas the decoders carry (api/json-schema.ts),
 * so what `kubectl explain` shows is what the validator accepts. Served as aggregated servers serve it
 * (k8s.io/kube-openapi): `/openapi/v2` (Swagger 2.0, JSON; kube-apiserver's aggregator downloads it with
 * `Accept: application/json` and merges it into its own), `/openapi/v3` (the group-version index, with a hash
 * in each serverRelativeURL) and `/openapi/v3/apis/projectcalico.org/v3` (OpenAPI 3.0, which the aggregator
 * proxies to kubectl). Definition names follow Calico's generated ones
 * (`com.github.projectcalico.api.pkg.apis.projectcalico.v3.GlobalNetworkPolicy`), each kind and list carries
 * `x-kubernetes-group-version-kind`, and every item path has a PATCH operation listing the `fieldValidation`
 * parameter, which is what makes kubectl leave validation to this server (cli-runtime's QueryParamVerifierV3)
 * rather than check documents itself. No patch strategies are published: v3 lists are replaced. Pure.
 */
import { createHash } from 'node:crypto';
import { described, OPEN_SCHEMA, type Schema, STRING_MAP_SCHEMA } from '../api/json-schema.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import { codecFor } from '../api/registry.js';
import { GROUP, GROUP_VERSION, VERSION, servedResources, type ServedResource } from './resources.js';

/** Where calico-apiserver publishes the v3 document of its group-version. */
export const OPENAPI_V3_GROUP_PATH = `/openapi/v3/apis/${GROUP_VERSION}`;

const CALICO_PREFIX = 'com.github.projectcalico.api.pkg.apis.projectcalico.v3.';
const META_PREFIX = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

type Json = Record<string, unknown>;
type RefFn = (name: string) => Json;

const str = (description: string): Schema => ({ type: 'string', description });

function objectMeta(ref: RefFn): Json {
  return {
    type: 'object',
    description: 'Standard object metadata: name, namespace, labels, annotations and server-set fields.',
    properties: {
      name: str('Name of the object, unique within its namespace (or the cluster).'),
      generateName: str('Prefix the server uses to generate a name when none is given.'),
      namespace: str('Namespace of a namespaced object.'),
      selfLink: str('Deprecated; not set.'),
      uid: str('Unique identifier set by the server.'),
      resourceVersion: str('Version of the object, for optimistic concurrency and watches.'),
      generation: { type: 'integer', format: 'int64', description: 'Generation of the desired state.' },
      creationTimestamp: { type: 'string', format: 'date-time', description: 'When the object was created.' },
      deletionTimestamp: { type: 'string', format: 'date-time', description: 'When deletion was requested.' },
      deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
      labels: described(STRING_MAP_SCHEMA, 'Labels, matched by Calico selectors.'),
      annotations: described(STRING_MAP_SCHEMA, 'Annotations (not used for matching).'),
      ownerReferences: { type: 'array', items: ref('OwnerReference') },
      finalizers: { type: 'array', items: { type: 'string' } },
      managedFields: {
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  };
}

function ownerReference(): Json {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'name', 'uid'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      name: { type: 'string' },
      uid: { type: 'string' },
      controller: { type: 'boolean' },
      blockOwnerDeletion: { type: 'boolean' },
    },
  };
}

function listMeta(): Json {
  return {
    type: 'object',
    description: 'Metadata of a list: its resourceVersion and continue token.',
    properties: {
      resourceVersion: { type: 'string' },
      continue: { type: 'string' },
      remainingItemCount: { type: 'integer', format: 'int64' },
      selfLink: { type: 'string' },
    },
  };
}

const API_VERSION: Schema = str('The versioned schema of this object: projectcalico.org/v3.');
const KIND: Schema = str('The kind of this object.');

function gvk(kind: string): Json {
  return { 'x-kubernetes-group-version-kind': [{ group: GROUP, kind, version: VERSION }] };
}

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** A decoder's schema as published: numorstring values refer to Kubernetes' IntOrString, as Go types do. */
function published(schema: Schema, ref: RefFn): Json {
  if (schema['x-kubernetes-int-or-string'] === true) return ref(INT_OR_STRING);
  const out: Json = { ...schema };
  if (schema.items !== undefined) out['items'] = published(schema.items, ref);
  if (schema.additionalProperties !== undefined) {
    out['additionalProperties'] = published(schema.additionalProperties, ref);
  }
  if (schema.properties !== undefined) {
    out['properties'] = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, published(v, ref)]),
    );
  }
  return out;
}

/** The definitions of one served kind: the object, its spec (and status) and its list. */
function kindDefinitions(r: ServedResource, ref: RefFn): Record<string, Json> {
  const codec = codecFor(CALICO_API_VERSION, r.kind);
  const spec: Schema = codec?.specSchema ?? { type: 'object', ...OPEN_SCHEMA };
  const out: Record<string, Json> = {};
  out[`${r.kind}Spec`] = {
    ...published(spec, ref),
    description: spec.description ?? `The desired state of a ${r.kind}.`,
  };
  const properties: Json = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: ref(`${META_PREFIX}ObjectMeta`),
    spec: ref(`${CALICO_PREFIX}${r.kind}Spec`),
  };
  if (codec?.statusSchema !== undefined) {
    out[`${r.kind}Status`] = published(codec.statusSchema, ref);
    properties['status'] = ref(`${CALICO_PREFIX}${r.kind}Status`);
  } else if (codec === undefined || r.kind === 'IPPool' || r.status) {
    properties['status'] = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
  out[r.kind] = {
    type: 'object',
    description: `A projectcalico.org/v3 ${r.kind} (${r.namespaced ? 'namespaced' : 'cluster-wide'}).`,
    properties,
    ...gvk(r.kind),
  };
  out[`${r.kind}List`] = {
    type: 'object',
    description: `A list of ${r.kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: ref(`${META_PREFIX}ListMeta`),
      items: { type: 'array', items: ref(`${CALICO_PREFIX}${r.kind}`) },
    },
    ...gvk(`${r.kind}List`),
  };
  return out;
}

function definitions(ref: RefFn): Record<string, Json> {
  const out: Record<string, Json> = {
    [`${META_PREFIX}ObjectMeta`]: objectMeta((n) => ref(`${META_PREFIX}${n}`)),
    [`${META_PREFIX}OwnerReference`]: ownerReference(),
    [`${META_PREFIX}ListMeta`]: listMeta(),
    [INT_OR_STRING]: { type: 'string', format: 'int-or-string', description: 'A number or a string.' },
  };
  for (const r of servedResources()) {
    for (const [name, schema] of Object.entries(kindDefinitions(r, ref)))
      out[`${CALICO_PREFIX}${name}`] = schema;
  }
  return out;
}

interface Param {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly description: string;
}

const FIELD_VALIDATION: Param = {
  name: 'fieldValidation',
  in: 'query',
  description: 'Ignore, Warn or Strict: how unknown or duplicate fields are treated (always refused here).',
};
const DRY_RUN: Param = { name: 'dryRun', in: 'query', description: 'All: validate without storing.' };

/** The operations of one resource: collection (list, create) and item (get, replace, patch, delete). */
function resourcePaths(r: ServedResource, op: OperationFn): Record<string, Json> {
  const base = `/apis/${GROUP_VERSION}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
  const scopeParams: Param[] = r.namespaced
    ? [{ name: 'namespace', in: 'path', description: 'The namespace.' }]
    : [];
  const nameParam: Param = { name: 'name', in: 'path', description: `Name of the ${r.kind}.` };
  const list = `${r.kind}List`;
  return {
    [base]: {
      get: op(`list${r.kind}`, 'list', r.kind, list, scopeParams),
      post: op(`create${r.kind}`, 'post', r.kind, r.kind, [...scopeParams, DRY_RUN, FIELD_VALIDATION]),
    },
    [`${base}/{name}`]: {
      get: op(`read${r.kind}`, 'get', r.kind, r.kind, [...scopeParams, nameParam]),
      put: op(`replace${r.kind}`, 'put', r.kind, r.kind, [
        ...scopeParams,
        nameParam,
        DRY_RUN,
        FIELD_VALIDATION,
      ]),
      patch: op(`patch${r.kind}`, 'patch', r.kind, r.kind, [
        ...scopeParams,
        nameParam,
        DRY_RUN,
        FIELD_VALIDATION,
      ]),
      delete: op(`delete${r.kind}`, 'delete', r.kind, r.kind, [...scopeParams, nameParam, DRY_RUN]),
    },
  };
}

type OperationFn = (
  id: string,
  action: string,
  kind: string,
  result: string,
  params: readonly Param[],
) => Json;

function operationCommon(id: string, action: string, kind: string): Json {
  return {
    operationId: id,
    tags: ['projectcalicoOrg_v3'],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: GROUP, kind, version: VERSION },
  };
}

function paramV2(p: Param): Json {
  return {
    name: p.name,
    in: p.in,
    description: p.description,
    type: 'string',
    ...(p.in === 'path' ? { required: true } : {}),
  };
}

function paramV3(p: Param): Json {
  return {
    name: p.name,
    in: p.in,
    description: p.description,
    schema: { type: 'string' },
    ...(p.in === 'path' ? { required: true } : {}),
  };
}

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

/** `/openapi/v2`: a Swagger 2.0 document. */
export function openApiV2(): Json {
  const ref: RefFn = (name) => ({ $ref: `#/definitions/${name}` });
  const op: OperationFn = (id, action, kind, result, params) => ({
    ...operationCommon(id, action, kind),
    consumes: action === 'patch' ? PATCH_TYPES : ['application/json', 'application/yaml'],
    produces: ['application/json', 'application/yaml'],
    parameters: params.map(paramV2),
    responses: { '200': { description: 'OK', schema: ref(`${CALICO_PREFIX}${result}`) } },
  });
  const paths: Record<string, Json> = {};
  for (const r of servedResources()) Object.assign(paths, resourcePaths(r, op));
  return {
    swagger: '2.0',
    info: { title: 'calico-apiserver', version: VERSION },
    paths,
    definitions: definitions(ref),
  };
}

/** `/openapi/v3/apis/projectcalico.org/v3`: an OpenAPI 3.0 document of the group-version. */
export function openApiV3GroupVersion(): Json {
  const ref: RefFn = (name) => ({ $ref: `#/components/schemas/${name}` });
  const media = (schema: Json): Json => ({ 'application/json': { schema }, 'application/yaml': { schema } });
  const op: OperationFn = (id, action, kind, result, params) => ({
    ...operationCommon(id, action, kind),
    parameters: params.map(paramV3),
    ...(action === 'post' || action === 'put'
      ? { requestBody: { required: true, content: media(ref(`${CALICO_PREFIX}${kind}`)) } }
      : action === 'patch'
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: { type: 'object' } }])),
            },
          }
        : {}),
    responses: { '200': { description: 'OK', content: media(ref(`${CALICO_PREFIX}${result}`)) } },
  });
  const paths: Record<string, Json> = {};
  for (const r of servedResources()) Object.assign(paths, resourcePaths(r, op));
  return {
    openapi: '3.0.0',
    info: { title: 'calico-apiserver', version: VERSION },
    paths,
    components: { schemas: definitions(ref) },
  };
}

let cachedHash: string | undefined;

/** `/openapi/v3`: the index of group-version documents, each URL with the hash of its content. */
export function openApiV3Index(): Json {
  cachedHash ??= createHash('sha512')
    .update(JSON.stringify(openApiV3GroupVersion()))
    .digest('hex')
    .toUpperCase();
  return {
    paths: {
      [`apis/${GROUP_VERSION}`]: { serverRelativeURL: `${OPENAPI_V3_GROUP_PATH}?hash=${cachedHash}` },
    },
  };
}
