import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combineSelectors,
  entityRuleSelector,
  globalPolicySelector,
  namespacedPolicySelector,
} from './selectors.js';

// Vectors from libcalico-go's rules_test.go as restated in the reference (§3.1).
describe('entity rule selectors', () => {
  it('scopes a namespaced rule selector to the policy namespace', () => {
    assert.equal(
      entityRuleSelector({ selector: 'mylabel = value1' }, 'namespace2'),
      "(projectcalico.org/namespace == 'namespace2') && (mylabel = value1)",
    );
  });
  it('a notSelector alone still scopes the positive selector to the namespace', () => {
    assert.equal(
      entityRuleSelector({ notSelector: 'has(x)' }, 'namespace2'),
      "projectcalico.org/namespace == 'namespace2'",
    );
    assert.equal(entityRuleSelector({ notSelector: 'has(x)' }, ''), '');
  });
  it('prefixes namespaceSelector labels with pcns.', () => {
    assert.equal(
      entityRuleSelector({ namespaceSelector: "namespacelabel1 == 'value1'" }, ''),
      'pcns.namespacelabel1 == "value1"',
    );
    assert.equal(
      entityRuleSelector(
        { selector: "projectcalico.org/orchestrator == 'k8s'", namespaceSelector: "key == 'value'" },
        '',
      ),
      `(pcns.key == "value") && (projectcalico.org/orchestrator == 'k8s')`,
    );
    assert.equal(
      entityRuleSelector({ namespaceSelector: "!has(key) || (has(key) && !key in {'value'})" }, ''),
      '(!has(pcns.key) || (has(pcns.key) && !pcns.key in {"value"}))',
    );
  });
  it('turns all() and global() namespace selectors into namespace-label presence tests', () => {
    assert.equal(
      entityRuleSelector({ namespaceSelector: 'all()' }, 'ns'),
      'has(projectcalico.org/namespace)',
    );
    assert.equal(
      entityRuleSelector({ namespaceSelector: 'global()' }, ''),
      '!has(projectcalico.org/namespace)',
    );
  });
  it('combines service account names and selector', () => {
    assert.equal(
      entityRuleSelector(
        { serviceAccounts: { names: ['sa1', 'sa2'], selector: "key == 'value1'" } },
        'namespace',
      ),
      `(projectcalico.org/namespace == 'namespace') && ((pcsa.key == "value1") && (projectcalico.org/serviceaccount in {"sa1", "sa2"}))`,
    );
  });
  it('folds a negative selector into a positive one only when there is one (Felix)', () => {
    assert.deepEqual(combineSelectors('a == "b"', 'has(c)'), {
      positive: '(a == "b") && (!(has(c)))',
      negative: '',
    });
    assert.deepEqual(combineSelectors('', 'has(c)'), { positive: '', negative: 'has(c)' });
  });
});

describe('policy selectors', () => {
  it('NetworkPolicy: namespace term, then service-account selector', () => {
    assert.equal(namespacedPolicySelector('', 'prod', ''), "projectcalico.org/namespace == 'prod'");
    assert.equal(
      namespacedPolicySelector("app == 'x'", 'prod', ''),
      "(app == 'x') && projectcalico.org/namespace == 'prod'",
    );
    assert.equal(
      namespacedPolicySelector('', 'prod', "role == 'db'"),
      `(projectcalico.org/namespace == 'prod') && pcsa.role == "db"`,
    );
  });
  it('GlobalNetworkPolicy: namespaceSelector all() means every namespaced endpoint', () => {
    assert.equal(globalPolicySelector('all()', '', ''), 'all()');
    assert.equal(globalPolicySelector('', 'all()', ''), 'has(projectcalico.org/namespace)');
    assert.equal(
      globalPolicySelector("app == 'x'", "env == 'prod'", ''),
      `(app == 'x') && pcns.env == "prod"`,
    );
    assert.equal(
      globalPolicySelector('all()', '', 'all()'),
      '(has(projectcalico.org/serviceaccount)) && has(projectcalico.org/serviceaccount)',
    );
  });
});
