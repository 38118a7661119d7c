/** The generated CRD schemas are structural, as kube-apiserver requires, and typed from the model. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calicoCrdSchemas } from './crd-schemas.js';
import { crdKinds } from './kinds.js';

type Node = Record<string, unknown>;

/** Kubernetes' structural rules that a generated schema could break (apiextensions validation). */
function structuralProblems(node: Node, path: string, out: string[]): string[] {
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const open = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node['type'] === undefined && !intOrString && !open) out.push(`${path}: no type`);
  if (node['properties'] !== undefined && node['additionalProperties'] !== undefined) {
    out.push(`${path}: properties and additionalProperties`);
  }
  if (node['uniqueItems'] === true) out.push(`${path}: uniqueItems`);
  if (node['$ref'] !== undefined) out.push(`${path}: $ref`);
  if (intOrString) {
    assert.deepEqual(node['anyOf'], [{ type: 'integer' }, { type: 'string' }], path);
  } else if (node['anyOf'] !== undefined) out.push(`${path}: anyOf`);
  for (const [k, v] of Object.entries((node['properties'] ?? {}) as Record<string, Node>)) {
    structuralProblems(v, `${path}.${k}`, out);
  }
  if (node['items'] !== undefined) structuralProblems(node['items'] as Node, `${path}[]`, out);
  if (node['additionalProperties'] !== undefined) {
    structuralProblems(node['additionalProperties'] as Node, `${path}{}`, out);
  }
  return out;
}

test('calicoCrdSchemas: one structural schema per CRD kind', () => {
  const schemas = calicoCrdSchemas();
  assert.deepEqual(
    Object.keys(schemas).sort(),
    crdKinds()
      .map((k) => k.crd.kind)
      .sort(),
  );
  for (const [kind, schema] of Object.entries(schemas)) {
    assert.deepEqual(structuralProblems(schema, kind, []), []);
  }
});

test('calicoCrdSchemas: Calico field names and types (GlobalNetworkPolicy, IPPool, IPAMConfig)', () => {
  const s = calicoCrdSchemas();
  const spec = (kind: string) => (s[kind]?.['properties'] as Record<string, Node>)['spec'] as Node;
  const props = (n: Node) => n['properties'] as Record<string, Node>;
  const gnp = props(spec('GlobalNetworkPolicy'));
  assert.equal(gnp['order']?.['type'], 'number');
  const rule = (gnp['ingress']?.['items'] ?? {}) as Node;
  assert.deepEqual(rule['required'], ['action']);
  assert.deepEqual(props(rule)['action']?.['enum'], ['Allow', 'Deny', 'Log', 'Pass']);
  assert.equal(props(rule)['protocol']?.['x-kubernetes-int-or-string'], true);
  const ports = props(props(rule)['destination'] as Node)['ports'] as Node;
  assert.equal((ports['items'] as Node)['x-kubernetes-int-or-string'], true);
  const pool = spec('IPPool');
  assert.deepEqual(pool['required'], ['cidr']);
  assert.equal(props(pool)['cidr']?.['type'], 'string');
  assert.ok(props(spec('IPAMConfig'))['strictAffinity'] !== undefined);
  assert.notStrictEqual(calicoCrdSchemas()['IPPool'], s['IPPool'], 'fresh objects on each call');
});
