/**
 * Translation of projectcalico.org/v3 selector fields into backend selectors (reference §3.1), following
 * libcalico-go's update processors step by step, including their textual rewrites, so that the canonical
 * form (and therefore every IP-set name derived from it) is the one Calico computes.
 */
import { mustParseSelector, parseSelector } from '../api/selector/index.js';
import type { Selector } from '../api/selector/index.js';
import type { EntityRule } from '../api/v3/rule.js';
import {
  LABEL_NAMESPACE,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL_PREFIX,
} from './ids.js';

/** Parses a user selector and renders it canonically with every label prefixed (Calico's PrefixVisitor). */
export function prefixSelector(text: string, prefix: string): string {
  const parsed = parseSelector(text);
  return parsed.ok ? parsed.value.withPrefix(prefix).canonical : '';
}

function prefixAndAppend(current: string, added: string, prefix: string): string {
  if (added === '') return current;
  const prefixed = prefixSelector(added, prefix);
  if (prefixed === '') return current;
  return current === '' ? prefixed : `(${current}) && ${prefixed}`;
}

function replaceAll(s: string, from: string, to: string): string {
  return s.split(from).join(to);
}

/** Backend selector of a namespaced policy (NetworkPolicy, StagedNetworkPolicy, converted Kubernetes policy). */
export function namespacedPolicySelector(
  selector: string,
  namespace: string,
  serviceAccountSelector: string,
): string {
  const nsSel = `${LABEL_NAMESPACE} == '${namespace}'`;
  let sel = selector === '' ? nsSel : `(${selector}) && ${nsSel}`;
  sel = prefixAndAppend(sel, serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
  return sel;
}

/** Backend selector of a GlobalNetworkPolicy / StagedGlobalNetworkPolicy. */
export function globalPolicySelector(
  selector: string,
  namespaceSelector: string,
  serviceAccountSelector: string,
): string {
  let sel = selector;
  if (namespaceSelector !== '') {
    sel = prefixAndAppend(sel, namespaceSelector, NAMESPACE_LABEL_PREFIX);
    sel = replaceAll(sel, 'all()', `has(${LABEL_NAMESPACE})`);
  }
  if (serviceAccountSelector !== '') {
    sel = prefixAndAppend(sel, serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
    sel = replaceAll(sel, 'all()', `has(${LABEL_SERVICE_ACCOUNT})`);
  }
  return sel;
}

function serviceAccountSelectorOf(sa: NonNullable<EntityRule['serviceAccounts']>): string {
  const updated =
    sa.selector !== undefined && sa.selector !== ''
      ? prefixSelector(sa.selector, SERVICE_ACCOUNT_LABEL_PREFIX)
      : '';
  const names = sa.names ?? [];
  if (names.length === 0) return updated;
  const namesSel = mustParseSelector(`${LABEL_SERVICE_ACCOUNT} in { '${names.join("', '")}' }`).canonical;
  return updated === '' ? namesSel : `(${updated}) && (${namesSel})`;
}

/**
 * The positive selector of an EntityRule (GetEntityRuleSelector): namespace scoping, service accounts and the
 * rule's own selector, combined. `namespace` is '' for global policies.
 */
export function entityRuleSelector(er: EntityRule, namespace: string): string {
  const namespaceSelector = er.namespaceSelector ?? '';
  const endpointSelector = er.selector ?? '';
  const notSelector = er.notSelector ?? '';
  let nsSel = '';
  if (namespaceSelector !== '') {
    nsSel = prefixSelector(namespaceSelector, NAMESPACE_LABEL_PREFIX);
    nsSel = replaceAll(nsSel, 'all()', `has(${LABEL_NAMESPACE})`);
    nsSel = replaceAll(nsSel, 'global()', `!has(${LABEL_NAMESPACE})`);
  } else if (namespace !== '') {
    nsSel = `${LABEL_NAMESPACE} == '${namespace}'`;
  }
  const parts: string[] = [];
  if (er.serviceAccounts !== undefined) {
    const sa = serviceAccountSelectorOf(er.serviceAccounts);
    if (sa !== '') parts.push(sa);
  }
  if (endpointSelector !== '') parts.push(endpointSelector);
  let selector =
    parts.length === 0 ? '' : parts.length === 1 ? (parts[0] ?? '') : `(${parts.join(') && (')})`;
  if (nsSel !== '' && (selector !== '' || notSelector !== '' || namespaceSelector !== '')) {
    selector = selector !== '' ? `(${nsSel}) && (${selector})` : nsSel;
  }
  return selector;
}

/**
 * Felix's combineMatchesIfPossible: with a positive selector, the negative one filters it down and disappears;
 * without one, the negative selector stays standalone (it must then also match non-Calico addresses).
 */
export function combineSelectors(positive: string, negative: string): { positive: string; negative: string } {
  if (positive === '' || negative === '') return { positive, negative };
  return { positive: `(${positive}) && (!(${negative}))`, negative: '' };
}

/** Parses a backend selector produced above; these are built from validated input, so failure is a bug. */
export function backendSelector(text: string): Selector {
  return mustParseSelector(text);
}
