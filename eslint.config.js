// Type-aware lint plus the layering rules of docs/DESIGN.md: each folder may import only the layers below it.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const LAYERS = [
  'sys',
  'api',
  'model',
  'policy',
  'calc',
  'flows',
  'datastore',
  'dataplane',
  'dns',
  'goldmane',
  'ipam',
  'routing',
  'cni',
  'agent',
  'cli',
  'labkit',
  'whisker',
  'lab',
  'conformance',
  'apiserver',
  'manifests',
];

/** Which internal layers each layer may import (lib is always allowed). */
const ALLOWED = {
  lib: [],
  sys: [],
  api: [],
  model: ['api'],
  policy: ['api', 'model'],
  calc: ['api', 'model'],
  // Flow logs' records (Goldmane's shapes), policy hits and their string form, aggregation keys, filters. Pure.
  flows: ['api', 'model', 'policy'],
  datastore: ['api', 'model'],
  dataplane: ['api', 'model', 'calc'],
  // DNS policy's node-local DNS proxy, wire codec and DNS log (I/O on node:dgram, node:net, files).
  dns: ['api', 'model'],
  // calico-goldmane: the flow aggregator, its gRPC API (api.proto) and client, the JSON-lines flow logs.
  goldmane: ['api', 'model', 'flows'],
  // The flow viewer (Whisker's job): a web page over a Goldmane client, with policies read from the datastore.
  whisker: ['api', 'model', 'flows', 'goldmane', 'datastore'],
  ipam: ['api', 'model', 'datastore'],
  routing: ['api', 'model', 'datastore'],
  cni: ['api', 'model', 'ipam', 'datastore', 'dataplane'],
  // The network-namespace kit (namespaces, plumbing, processes, probe agents, LabCluster) that tests, the
  // conformance driver and the benchmarks build on; the `calico-lab` CLI (src/lab) sits on top of it. Its
  // pods' name lookups use the DNS path's codec (src/dns/wire.ts).
  labkit: ['api', 'model', 'datastore', 'dataplane', 'dns', 'ipam', 'routing', 'cni', 'flows', 'goldmane'],
  conformance: [
    'api',
    'model',
    'policy',
    'calc',
    'flows',
    'datastore',
    'dataplane',
    'ipam',
    'cni',
    'labkit',
    'agent',
  ],
  agent: [
    'api',
    'model',
    'policy',
    'calc',
    'flows',
    'datastore',
    'dataplane',
    'dns',
    'goldmane',
    'ipam',
    'routing',
    'cni',
  ],
  cli: ['api', 'model', 'policy', 'calc', 'flows', 'datastore', 'dataplane', 'goldmane', 'ipam', 'routing'],
  lab: [
    'api',
    'model',
    'policy',
    'calc',
    'flows',
    'datastore',
    'dataplane',
    'ipam',
    'routing',
    'cni',
    'labkit',
    'goldmane',
    'whisker',
  ],
  // calico-apiserver (projectcalico.org/v3 behind kube-apiserver's aggregation layer) over the datastore.
  apiserver: ['api', 'model', 'datastore'],
  // The install manifests' generator (charts/calico/crds, manifests/calico.yaml) over the CRD definitions.
  manifests: ['api', 'model', 'datastore'],
};

/** Pure layers: no I/O built-ins (node:crypto is allowed for hashing). */
const PURE = ['lib', 'api', 'model', 'policy', 'calc', 'flows'];
// src/sys (files, directories and sockets created with explicit modes) is below every layer that does I/O.
for (const [layer, allowed] of Object.entries(ALLOWED)) {
  if (!PURE.includes(layer) && layer !== 'sys') allowed.unshift('sys');
}
const IO_MODULES = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'dgram',
  'http',
  'https',
  'os',
  'worker_threads',
];

const layerRules = Object.entries(ALLOWED).map(([layer, allowed]) => {
  const forbidden = LAYERS.filter((l) => l !== layer && !allowed.includes(l));
  const patterns = [
    {
      group: forbidden.map((l) => `**/${l}/**`),
      message: `layering: src/${layer} may import only ${['lib', ...allowed].join(', ')} (docs/DESIGN.md)`,
    },
  ];
  if (layer === 'lib') {
    patterns.push({
      group: LAYERS.map((l) => `**/${l}/**`),
      message: 'layering: src/lib imports nothing internal',
    });
  }
  const paths = PURE.includes(layer)
    ? IO_MODULES.flatMap((m) => [
        { name: m, message: `src/${layer} is pure: no I/O` },
        { name: `node:${m}`, message: `src/${layer} is pure: no I/O` },
      ])
    : [];
  return {
    files: [`src/${layer}/**/*.ts`],
    ignores: [`src/${layer}/**/*.test.ts`, `src/${layer}/**/testing.ts`, `src/${layer}/**/testing/**`],
    rules: { 'no-restricted-imports': ['error', { patterns, paths }] },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'eslint.config.js', 'testdata/**', '.tmp*/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'max-lines': ['warn', { max: 600, skipBlankLines: true, skipComments: true }],
      'no-empty': 'error',
    },
  },
  {
    files: ['**/*.test.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: {
      'max-lines': ['warn', { max: 1000, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' },
          ],
        },
      ],
    },
  },
  {
    // The flow viewer's page script (src/whisker/static): plain browser JavaScript, served as is.
    files: ['src/whisker/static/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'document',
          'window',
          'location',
          'history',
          'fetch',
          'EventSource',
          'URLSearchParams',
          'queueMicrotask',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  ...layerRules,
);
