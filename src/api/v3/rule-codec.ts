/**
 * Decoding and validation of Calico policy rules (reference §2): field types, selectors, ports, nets,
 * ICMP, HTTP, services, and the cross-field rules of Calico's validator and CEL rules. Direction-dependent
 * checks (services and HTTP per ingress/egress) live with the policy specs, which know the direction.
 */
import {
  checked,
  type Decoder,
  int,
  type Issues,
  list,
  oneOf,
  opt,
  refine,
  req,
  schemaOf,
  show,
  str,
  struct,
  withSchema,
} from '../decoder.js';
import { INT_OR_STRING_SCHEMA } from '../json-schema.js';
import { parseCidr } from '../../lib/net/ip.js';
import { checkDomainPattern, MAX_DOMAINS } from '../domains.js';
import { checkPortName, checkSubdomain } from '../names.js';
import { netField } from '../net-fields.js';
import {
  formatPort,
  isIcmpV4,
  isIcmpV6,
  parsePort,
  parseProtocol,
  type Protocol,
  supportsPorts,
} from '../numorstring.js';
import { annotationsField } from '../object-meta.js';
import { selectorField } from '../selector-field.js';
import type {
  EntityRule,
  HttpMatch,
  HttpPath,
  IcmpFields,
  PortValue,
  Rule,
  RuleMetadata,
  ServiceAccountMatch,
  ServiceMatch,
} from './rule.js';

export const MAX_RULES = 1024;

/** A rule while it is being checked: the action may still be missing. */
type RuleDraft = Omit<Rule, 'action'> & { action?: Rule['action'] };
const MAX_NETS = 256;
const MAX_PORTS = 50;
const MAX_HTTP_ITEMS = 20;
const MAX_HTTP_PATH = 1024;

export const protocolField: Decoder<Protocol> = withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
  const p = parseProtocol(v);
  if (p.ok) return p.value;
  issues.add(path, p.error);
  return undefined;
});

/** A rule port: number, "N", "min:max" or a named port (Kubernetes port-name rules apply to names). */
export const portField: Decoder<PortValue> = withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
  const p = parsePort(v);
  if (!p.ok) {
    issues.add(path, p.error);
    return undefined;
  }
  if (p.value.kind === 'named') {
    const problem = checkPortName(p.value.name);
    if (problem !== undefined) {
      issues.add(path, problem);
      return undefined;
    }
  }
  return formatPort(p.value);
});

const icmpFields = refine(
  struct<IcmpFields>({ type: opt(int(0, 254)), code: opt(int(0, 255)) }),
  (f, path, issues) => {
    if (f.code !== undefined && f.type === undefined && !issues.hasAt(`${path}.type`)) {
      issues.add(`${path}.code`, `ICMP code ${f.code} specified without an ICMP type`);
    }
  },
);

const serviceAccountMatch = struct<ServiceAccountMatch>({
  names: opt(list(str, { unique: true })),
  selector: opt(selectorField()),
});

const serviceMatch = struct<ServiceMatch>({
  name: req(checked((s) => checkSubdomain(s, 'service name'))),
  namespace: opt(checked((s) => checkSubdomain(s, 'service namespace'))),
});

function checkEntityRule(e: EntityRule, path: string, issues: Issues): void {
  if (e.services !== undefined) {
    const clash = (field: string, present: boolean): void => {
      if (present) issues.add(`${path}.services`, `cannot specify services and ${field} on the same rule`);
    };
    clash('namespaceSelector', (e.namespaceSelector ?? '') !== '');
    clash('selector', (e.selector ?? '') !== '');
    clash('notSelector', (e.notSelector ?? '') !== '');
    clash('serviceAccounts', e.serviceAccounts !== undefined);
    clash('nets', (e.nets ?? []).length > 0);
    clash('notNets', (e.notNets ?? []).length > 0);
    clash('domains', (e.domains ?? []).length > 0);
  }
  (e.notNets ?? []).forEach((n, i) => {
    const c = parseCidr(n);
    if (c !== undefined && c.prefix === 0) {
      issues.add(
        `${path}.notNets[${i}]`,
        `notNets entry ${show(n)} excludes all addresses, so the rule would match no traffic`,
      );
    }
  });
}

/** Output order follows Calico's JSON field order. */
export const entityRuleField: Decoder<EntityRule> = refine(
  struct<EntityRule>({
    nets: opt(list(netField, { maxItems: MAX_NETS, unique: true })),
    selector: opt(selectorField()),
    namespaceSelector: opt(selectorField('namespaceEntity')),
    services: opt(serviceMatch),
    ports: opt(list(portField, { maxItems: MAX_PORTS })),
    notNets: opt(list(netField, { maxItems: MAX_NETS, unique: true })),
    notSelector: opt(selectorField()),
    notPorts: opt(list(portField, { maxItems: MAX_PORTS })),
    serviceAccounts: opt(serviceAccountMatch),
    domains: opt(list(checked(checkDomainPattern), { maxItems: MAX_DOMAINS, unique: true })),
  }),
  checkEntityRule,
);

const httpPath = refine(
  struct<HttpPath>({
    exact: opt(str),
    prefix: opt(str),
  }),
  (p, path, issues) => {
    if (p.exact !== undefined && p.prefix !== undefined) {
      issues.add(
        path,
        `invalid HTTP path match: both exact ${show(p.exact)} and prefix ${show(p.prefix)} are set`,
      );
      return;
    }
    const value = p.exact ?? p.prefix;
    const field = p.exact !== undefined ? 'exact' : 'prefix';
    if (value === undefined || value === '') {
      issues.add(path, 'invalid HTTP path match: either exact or prefix must be set');
    } else if (value.length > MAX_HTTP_PATH) {
      issues.add(
        `${path}.${field}`,
        `HTTP path ${show(value)} is too long (max ${MAX_HTTP_PATH} characters)`,
      );
    } else if (!value.startsWith('/') || /[?# ]/.test(value)) {
      issues.add(
        `${path}.${field}`,
        `invalid HTTP path ${show(value)}: must start with '/' and not contain '?', '#' or spaces`,
      );
    }
  },
);

const httpMatch = struct<HttpMatch>({
  methods: opt(list(str, { maxItems: MAX_HTTP_ITEMS, unique: true })),
  paths: opt(list(httpPath, { maxItems: MAX_HTTP_ITEMS })),
});

const ruleMetadata = struct<RuleMetadata>({ annotations: opt(annotationsField) });

function protocolText(p: Protocol | undefined): string {
  return p === undefined ? 'protocol is not set' : `protocol is ${show(p)}`;
}

function checkRulePorts(r: RuleDraft, path: string, issues: Issues): void {
  if (r.protocol === undefined && issues.hasAt(`${path}.protocol`)) return;
  for (const side of ['source', 'destination'] as const) {
    for (const field of ['ports', 'notPorts'] as const) {
      const ports = r[side]?.[field] ?? [];
      if (ports.length === 0) continue;
      const allNamed = ports.every((p) => typeof p === 'string' && !/^[0-9]+:[0-9]+$/.test(p));
      const ok = r.protocol === undefined ? allNamed : supportsPorts(r.protocol);
      if (!ok) {
        issues.add(
          `${path}.${side}.${field}`,
          `rules that specify ports must set protocol to TCP, UDP or SCTP (${protocolText(r.protocol)})`,
        );
      }
    }
  }
  const dst = r.destination;
  if (dst?.services !== undefined) {
    if ((dst.ports ?? []).length > 0) {
      issues.add(`${path}.destination.ports`, 'ports cannot be specified with destination services');
    }
    if ((dst.notPorts ?? []).length > 0) {
      issues.add(`${path}.destination.notPorts`, 'notPorts cannot be specified with destination services');
    }
  }
}

function checkRuleIcmp(r: RuleDraft, path: string, issues: Issues): void {
  if (r.icmp !== undefined && !issues.hasAt(`${path}.protocol`)) {
    if (r.protocol === undefined || !(isIcmpV4(r.protocol) || isIcmpV6(r.protocol))) {
      issues.add(`${path}.icmp`, `ICMP fields require protocol ICMP or ICMPv6 (${protocolText(r.protocol)})`);
    }
  }
  if (r.ipVersion === undefined) return;
  for (const field of ['protocol', 'notProtocol'] as const) {
    const p = r[field];
    if (p === undefined) continue;
    if (isIcmpV4(p) && r.ipVersion !== 4) {
      issues.add(
        `${path}.ipVersion`,
        `ipVersion ${r.ipVersion} does not match ${field} ${show(p)} (requires ipVersion 4)`,
      );
    }
    if (isIcmpV6(p) && r.ipVersion !== 6) {
      issues.add(
        `${path}.ipVersion`,
        `ipVersion ${r.ipVersion} does not match ${field} ${show(p)} (requires ipVersion 6)`,
      );
    }
  }
}

/** All CIDRs of one rule must be of one family, and of the rule's ipVersion if it has one. */
function checkRuleNets(r: RuleDraft, path: string, issues: Issues): void {
  let seen: 4 | 6 | undefined;
  for (const side of ['source', 'destination'] as const) {
    for (const field of ['nets', 'notNets'] as const) {
      (r[side]?.[field] ?? []).forEach((n, i) => {
        const family = parseCidr(n)?.family;
        if (family === undefined) return;
        const p = `${path}.${side}.${field}[${i}]`;
        if (r.ipVersion !== undefined && family !== r.ipVersion) {
          issues.add(p, `CIDR ${show(n)} is IPv${family} but the rule has ipVersion ${r.ipVersion}`);
        } else if (seen !== undefined && family !== seen) {
          issues.add(
            p,
            `CIDR ${show(n)} is IPv${family} but the rule also has IPv${seen} CIDRs (a rule may not mix families)`,
          );
        }
        seen ??= family;
      });
    }
  }
}

function checkRuleHttp(r: RuleDraft, path: string, issues: Issues): void {
  if (r.http === undefined) return;
  if (r.action !== undefined && r.action !== 'Allow') {
    issues.add(`${path}.http`, `HTTP match is only valid on Allow rules (action is ${show(r.action)})`);
  }
  if (r.protocol !== undefined && r.protocol !== 'TCP' && r.protocol !== 6) {
    issues.add(
      `${path}.protocol`,
      `rules with HTTP match must have protocol TCP or unset (${protocolText(r.protocol)})`,
    );
  }
}

/**
 * Where a rule list sits. Policies check services and HTTP per direction; in a global policy a services
 * match must name its namespace. Profile rules get no direction checks (as in Calico).
 */
export interface RuleContext {
  readonly direction: 'ingress' | 'egress';
  readonly scope: 'namespaced' | 'global' | 'profile';
}

function checkRuleDirection(r: RuleDraft, path: string, issues: Issues, ctx: RuleContext): void {
  if (ctx.scope === 'profile') return;
  const global = ctx.scope === 'global';
  const needsNamespace = (side: 'source' | 'destination'): void => {
    const svc = r[side]?.services;
    if (global && svc !== undefined && (svc.namespace ?? '') === '') {
      issues.add(
        `${path}.${side}.services.namespace`,
        `services match ${show(svc.name)} must specify a namespace in a global policy`,
      );
    }
  };
  if (ctx.direction === 'egress') {
    if (r.source?.services !== undefined) {
      issues.add(`${path}.source.services`, 'services are not allowed in the source of an egress rule');
    }
    if (r.http !== undefined) issues.add(`${path}.http`, 'HTTP match is not allowed in egress rules');
    needsNamespace('destination');
  } else {
    if (r.destination?.services !== undefined) {
      issues.add(
        `${path}.destination.services`,
        'services are not allowed in the destination of an ingress rule',
      );
    }
    needsNamespace('source');
  }
}

/** Domains (Calico Enterprise) belong only in the destination of an egress Allow rule of a policy. */
function checkRuleDomains(r: RuleDraft, path: string, issues: Issues, ctx: RuleContext): void {
  if ((r.source?.domains ?? []).length > 0) {
    issues.add(
      `${path}.source.domains`,
      'domains are only allowed in the destination of egress rules with action Allow',
    );
  }
  if ((r.destination?.domains ?? []).length === 0) return;
  const where =
    ctx.scope === 'profile'
      ? 'this is a profile rule'
      : ctx.direction === 'ingress'
        ? 'this is an ingress rule'
        : r.action !== undefined && r.action !== 'Allow'
          ? `action is ${show(r.action)}`
          : undefined;
  if (where !== undefined) {
    issues.add(
      `${path}.destination.domains`,
      `domains are only allowed in the destination of egress rules with action Allow (${where})`,
    );
  }
}

/** Output order follows Calico's JSON field order. */
const ruleShape = struct<RuleDraft>({
  action: opt(oneOf(['Allow', 'Deny', 'Log', 'Pass'], 'action')),
  ipVersion: opt(oneOfNumber([4, 6] as const, 'ipVersion')),
  protocol: opt(protocolField),
  icmp: opt(icmpFields),
  notProtocol: opt(protocolField),
  notICMP: opt(icmpFields),
  source: opt(entityRuleField),
  destination: opt(entityRuleField),
  http: opt(httpMatch),
  metadata: opt(ruleMetadata),
});

/**
 * A rule. The action is required, but a rule without a valid one is still cross-checked, so that one
 * pass reports every problem of the rule.
 */
export function ruleField(ctx: RuleContext): Decoder<Rule> {
  return withSchema({ ...schemaOf(ruleShape), required: ['action'] }, (v, path, issues) => {
    const r = ruleShape(v, path, issues);
    if (r === undefined) return undefined;
    if (r.action === undefined && !issues.hasAt(`${path}.action`))
      issues.add(`${path}.action`, 'action is required');
    checkRulePorts(r, path, issues);
    checkRuleIcmp(r, path, issues);
    checkRuleNets(r, path, issues);
    checkRuleHttp(r, path, issues);
    checkRuleDirection(r, path, issues, ctx);
    checkRuleDomains(r, path, issues, ctx);
    return r.action === undefined ? undefined : { ...r, action: r.action };
  });
}

/** A list of at most 1024 rules. */
export function rulesField(ctx: RuleContext): Decoder<Rule[]> {
  return list(ruleField(ctx), { maxItems: MAX_RULES });
}

function oneOfNumber<const T extends number>(values: readonly T[], what: string): Decoder<T> {
  return withSchema({ type: 'integer', enum: values }, (v, path, issues) => {
    if (typeof v === 'number' && (values as readonly number[]).includes(v)) return v as T;
    issues.add(path, `invalid ${what} ${show(v)} (must be one of ${values.join(', ')})`);
    return undefined;
  });
}
