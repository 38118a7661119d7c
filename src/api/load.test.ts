import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLoadIssue, parseDocuments, type LoadIssue, type RawDocument } from './load.js';

function docs(text: string): RawDocument[] {
  const r = parseDocuments(text, 'f.yaml');
  if (!r.ok) assert.fail(r.error.map(formatLoadIssue).join('\n'));
  return r.value;
}

function first(issues: LoadIssue[]): LoadIssue {
  const i = issues[0];
  assert.ok(i !== undefined, 'expected at least one issue');
  return i;
}

function problems(text: string): LoadIssue[] {
  const r = parseDocuments(text, 'f.yaml');
  if (r.ok) assert.fail(`expected a load error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('parseDocuments', () => {
  it('splits multi-document YAML, skipping empty documents but counting them', () => {
    const out = docs('kind: A\n---\n---\n# only a comment\n---\nkind: B\n...\n');
    assert.deepEqual(
      out.map((d) => [d.index, d.location, d.value]),
      [
        [0, 'document 0', { kind: 'A' }],
        [3, 'document 3', { kind: 'B' }],
      ],
    );
    assert.equal(out[0]?.source, 'f.yaml');
  });

  it('returns nothing for an empty file', () => {
    assert.deepEqual(docs(''), []);
    assert.deepEqual(docs('\n# nothing\n'), []);
  });

  it('reads a JSON object and a JSON array of objects', () => {
    assert.deepEqual(
      docs('{"kind": "A", "spec": {"n": 1}}').map((d) => d.value),
      [{ kind: 'A', spec: { n: 1 } }],
    );
    const arr = docs('[{"kind": "A"}, {"kind": "B"}]');
    assert.deepEqual(
      arr.map((d) => [d.index, d.item, d.location, d.value]),
      [
        [0, 0, 'document 0 item 0', { kind: 'A' }],
        [0, 1, 'document 0 item 1', { kind: 'B' }],
      ],
    );
  });

  it('expands kind: List items', () => {
    const text =
      'kind: X\n---\napiVersion: v1\nkind: List\nitems:\n- {kind: A}\n- {kind: B, apiVersion: v2}\n';
    assert.deepEqual(
      docs(text).map((d) => [d.location, d.value]),
      [
        ['document 0', { kind: 'X' }],
        ['document 1 item 0', { kind: 'A' }],
        ['document 1 item 1', { kind: 'B', apiVersion: 'v2' }],
      ],
    );
  });

  it('expands typed lists, filling in the kind and apiVersion of items that leave them out', () => {
    const text = JSON.stringify({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicyList',
      metadata: { resourceVersion: '5' },
      items: [{ metadata: { name: 'a' } }, { apiVersion: 'x/v1', kind: 'Other', metadata: { name: 'b' } }],
    });
    assert.deepEqual(
      docs(text).map((d) => d.value),
      [
        { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'a' } },
        { apiVersion: 'x/v1', kind: 'Other', metadata: { name: 'b' } },
      ],
    );
  });

  it('treats an empty or null items list as no documents', () => {
    assert.deepEqual(docs('kind: List\nitems: []\n'), []);
    assert.deepEqual(docs('kind: PodList\nitems:\n'), []);
  });

  it('reports a non-list items field', () => {
    const p = first(problems('kind: List\nitems: {a: 1}\n'));
    assert.equal(p.location, 'document 0');
    assert.match(p.message, /items/);
  });

  it('does not treat a resource whose kind merely ends in List, without items, as a list', () => {
    assert.deepEqual(
      docs('kind: AllowList\nspec: {}\n').map((d) => d.value),
      [{ kind: 'AllowList', spec: {} }],
    );
  });

  it('reports invalid YAML with the document index and the parser line and column', () => {
    const issues = problems('kind: A\n---\nkind: B\nspec: [1,\n---\nkind: C\n');
    assert.equal(issues.length, 1);
    const i = first(issues);
    assert.equal(i.source, 'f.yaml');
    assert.equal(i.location, 'document 1');
    assert.ok(i.line !== undefined && i.line >= 4, `line ${i.line}`);
    assert.match(formatLoadIssue(i), /^f\.yaml: document 1: line \d+, column \d+: \S/);
  });

  it('reports duplicate keys with their position', () => {
    const i = first(problems('a: 1\nb: 2\na: 3\n'));
    assert.equal(i.line, 3);
    assert.equal(i.column, 1);
    assert.match(i.message, /unique/);
    assert.doesNotMatch(i.message, /at line/);
  });

  it('reports every bad document', () => {
    const issues = problems('a: [\n---\nok: 1\n---\nb: {\n');
    assert.deepEqual(
      issues.map((i) => i.location),
      ['document 0', 'document 2'],
    );
  });
});
