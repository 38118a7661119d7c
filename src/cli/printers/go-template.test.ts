import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTemplate, sprintf, TemplateError } from './go-template.js';

const POLICIES = [
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'allow-dns', labels: { b: '2', a: '1' } },
    spec: { tier: 'default', order: 100, selector: 'all()', types: ['Ingress', 'Egress'] },
  },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'deny' },
    spec: { tier: 'security', types: ['Ingress'] },
  },
];
const POOL = [{ kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', ipipMode: 'Always' } }];

function render(src: string, data: unknown = POLICIES): string {
  let out = '';
  runTemplate(src, data, { config: (n) => (n === 'asnumber' ? '64512' : '') }, (t) => (out += t));
  return out;
}

describe('go-template (the text/template subset calicoctl templates use)', () => {
  it('reads Go field names against the JSON fields: ObjectMeta, promoted names, acronyms, JSON names', () => {
    assert.equal(
      render('{{range .}}{{.ObjectMeta.Name}},{{.Name}},{{.metadata.name}};{{end}}'),
      'allow-dns,allow-dns,allow-dns;deny,deny,deny;',
    );
    assert.equal(
      render('{{range .}}{{.Spec.CIDR}} {{.Spec.IPIPMode}} {{.TypeMeta.Kind}}{{end}}', POOL),
      '10.0.0.0/16 Always IPPool',
    );
    assert.equal(render('{{range .}}[{{.Spec.Selector}}]{{end}}'), '[all()][]', 'an absent field is empty');
    assert.equal(render('{{(index . 0).Spec.Order}} {{len .}}'), '100 2');
  });

  it('if / else if / else, with, range over lists and maps, variables, break and continue', () => {
    const src =
      '{{range $i, $p := .}}{{if eq $p.Spec.Tier "default"}}D{{else if eq $p.Spec.Tier "security"}}S{{else}}?{{end}}{{$i}} {{end}}';
    assert.equal(render(src), 'D0 S1 ');
    assert.equal(
      render('{{with (index . 0).Metadata.Labels}}{{range $k, $v := .}}{{$k}}={{$v}} {{end}}{{end}}'),
      'a=1 b=2 ',
    );
    assert.equal(render('{{with (index . 1).Spec.Order}}x{{else}}none{{end}}'), 'none');
    assert.equal(render('{{range .}}{{if eq .Name "allow-dns"}}{{continue}}{{end}}{{.Name}}{{end}}'), 'deny');
    assert.equal(render('{{range .}}{{.Name}}{{break}}{{end}}'), 'allow-dns');
    assert.equal(render('{{range .Nothing}}x{{else}}empty{{end}}', {}), 'empty');
    assert.equal(render('{{$n := 0}}{{range .}}{{$n = len .Spec.Types}}{{end}}{{$n}}'), '1');
  });

  it('trims with {{- and -}}, drops comments, and pipes into functions', () => {
    assert.equal(render('{{range .}}\n  {{- .Name -}}\n  ,\n{{end}}'), 'allow-dns,\ndeny,\n');
    assert.equal(render('a{{/* a comment */}}b'), 'ab');
    assert.equal(render('{{range .}}{{.Name | printf "%q"}} {{end}}'), '"allow-dns" "deny" ');
    assert.equal(
      render('{{join (index . 0).Spec.Types ","}} {{joinAndTruncate (index . 0).Spec.Types "," 5}}'),
      'Ingress,Egress In...',
    );
    assert.equal(render('{{config "asnumber"}}'), '64512');
    assert.equal(
      render('{{and 1 0}} {{or 0 "x"}} {{not true}} {{lt 1 2}} {{ge "b" "a"}} {{ne 1 2}}'),
      '0 x false true true true',
    );
    assert.equal(render('{{print "a" 1 2 "b"}}|{{println 1 "x"}}'), 'a1 2b|1 x\n');
    assert.equal(render('{{slice "abcdef" 1 3}} {{index (index . 0).Metadata.Labels "a"}}'), 'bc 1');
  });

  it('prints values as Go does: lists, maps, nil', () => {
    assert.equal(
      render('{{(index . 0).Spec.Types}} {{(index . 0).Metadata.Labels}} {{nil}}'),
      '[Ingress Egress] map[a:1 b:2] <nil>',
    );
    assert.equal(render('{{1e6}} {{1000000}} {{2.5}} {{true}}', {}), '1e+06 1000000 2.5 true');
    const tier = [{ kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1000000 } }];
    assert.equal(
      render('{{range .}}{{.Spec.Order}} {{printf "%v %d" .Spec.Order 3}}{{end}}', tier),
      '1e+06 1e+06 3',
    );
    assert.equal(render('{{range .}}{{if gt .Spec.Order 10.0}}big{{end}}{{end}}', tier), 'big');
  });

  it('formats with printf verbs, widths and flags', () => {
    assert.equal(
      sprintf('%s|%5s|%-5s|%d|%05d|%+d|%x|%t|%.2f|%v|%%', [
        'a',
        'b',
        'c',
        7,
        42,
        3,
        255,
        true,
        1.005,
        [1, 2],
      ]),
      'a|    b|c    |7|00042|+3|ff|true|1.00|[1 2]|%',
    );
    assert.equal(sprintf('%d %s', ['x']), '%!d(string=x) %!s(MISSING)');
    assert.equal(sprintf('%s', ['a', 'b']), 'a%!(EXTRA string=b)');
  });

  it('reports errors the way Go does, with the line', () => {
    for (const [src, msg] of [
      ['{{range .}}', /^template: get:1: unexpected EOF$/],
      ['x\n{{.Name', /^template: get:2: unclosed action$/],
      ['{{foo .}}', /function "foo" not defined/],
      ['{{range .}}{{.Name.X}}{{end}}', /can't evaluate field X in type string/],
      ['{{end}}', /unexpected \{\{end\}\}/],
      ['{{break}}', /\{\{break\}\} outside \{\{range\}\}/],
      ['{{template "x"}}', /not supported/],
      ['{{index . 5}}', /index out of range: 5/],
      ['{{$nope}}', /undefined variable: \$nope/],
    ] as const) {
      assert.throws(
        () => render(src),
        (e: unknown) => e instanceof TemplateError && msg.test(e.message),
        src,
      );
    }
  });
});
