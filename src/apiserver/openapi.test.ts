/** The published OpenAPI documents are complete: every reference resolves, every kind has its GVK and paths. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiV2, openApiV3GroupVersion, openApiV3Index, OPENAPI_V3_GROUP_PATH } from './openapi.js';
import { servedResources } from './resources.js';

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

const CALICO = 'com.github.projectcalico.api.pkg.apis.projectcalico.v3.';

for (const [name, doc, prefix, defs] of [
  ['v2', openApiV2(), '#/definitions/', (d: Record<string, unknown>) => d['definitions']],
  [
    'v3',
    openApiV3GroupVersion(),
    '#/components/schemas/',
    (d: Record<string, unknown>) => (d['components'] as Record<string, unknown>)['schemas'],
  ],
] as const) {
  test(`OpenAPI ${name}: references resolve; every kind and list has its group-version-kind`, () => {
    const schemas = defs(doc) as Record<string, Record<string, unknown>>;
    const all = refs(doc);
    assert.ok(all.length > 100);
    for (const r of all) {
      assert.ok(r.startsWith(prefix) && r.slice(prefix.length) in schemas, `${r} does not resolve`);
    }
    for (const res of servedResources()) {
      for (const kind of [res.kind, `${res.kind}List`]) {
        const s = schemas[`${CALICO}${kind}`];
        assert.deepEqual(s?.['x-kubernetes-group-version-kind'], [
          { group: 'projectcalico.org', kind, version: 'v3' },
        ]);
      }
    }
  });
}

test('every served kind has a PATCH operation with fieldValidation (so kubectl validates on the server)', () => {
  const paths = openApiV3GroupVersion()['paths'] as Record<string, Record<string, Record<string, unknown>>>;
  for (const res of servedResources()) {
    const base = `/apis/projectcalico.org/v3${res.namespaced ? '/namespaces/{namespace}' : ''}/${res.plural}`;
    const patch = paths[`${base}/{name}`]?.['patch'];
    assert.ok(patch !== undefined, `no PATCH for ${base}/{name}`);
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], {
      group: 'projectcalico.org',
      kind: res.kind,
      version: 'v3',
    });
    const params = patch['parameters'] as { name: string; in: string }[];
    assert.ok(params.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
  }
});

test('the v3 index points at the group-version document with a content hash', () => {
  const index = openApiV3Index() as { paths: Record<string, { serverRelativeURL: string }> };
  const url = index.paths['apis/projectcalico.org/v3']?.serverRelativeURL ?? '';
  assert.match(url, new RegExp(`^${OPENAPI_V3_GROUP_PATH}\\?hash=[0-9A-F]{128}$`));
});
