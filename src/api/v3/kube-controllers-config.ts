/**
 * KubeControllersConfiguration (projectcalico.org/v3, the cluster-wide singleton `default`): calico-kube-
 * controllers' log level, health checks, metrics and profiling ports and per-controller settings; its
 * `status` (the running configuration and environment) is written by kube-controllers through the `/status`
 * subresource and decoded leniently. Fields, checks and defaults are Calico v3.32.1's
 * (`kubecontrollersconfig.go` types with their `validate` tags; clientv3 `validateAndFillDefaults`:
 * prometheusMetricsPort 9094, node leakGracePeriod 15m0s, loadBalancer assignIPs AllServices, host endpoint
 * templates named, unique and given interface CIDRs or a pattern).
 */
import { calicoKindWithStatus, durationField, nameField } from './bgp-common.js';
import {
  int,
  list,
  oneOf,
  opt,
  refine,
  stringMap,
  struct,
  withDefault,
  checked,
  isRecord,
  type Decoder,
  type Issues,
} from '../decoder.js';
import { labelsField } from '../object-meta.js';
import { cidrField } from '../net-fields.js';
import { selectorField } from '../selector-field.js';
import { regexpProblem } from './felix-config-types.js';
import type { ResourceEnvelope } from '../meta.js';

export type EnabledDisabled = 'Enabled' | 'Disabled';

export interface HostEndpointTemplate {
  generateName?: string;
  interfaceCIDRs?: string[];
  interfacePattern?: string;
  labels?: Record<string, string>;
  nodeSelector?: string;
}

export interface KubeControllersConfigurationSpec {
  logSeverityScreen?: 'Trace' | 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
  healthChecks?: EnabledDisabled;
  etcdV3CompactionPeriod?: string;
  prometheusMetricsPort?: number;
  controllers: {
    node?: {
      reconcilerPeriod?: string;
      syncLabels?: EnabledDisabled;
      hostEndpoint?: {
        autoCreate?: EnabledDisabled;
        createDefaultHostEndpoint?: EnabledDisabled;
        templates?: HostEndpointTemplate[];
      };
      leakGracePeriod?: string;
    };
    policy?: { reconcilerPeriod?: string };
    workloadEndpoint?: { reconcilerPeriod?: string };
    serviceAccount?: { reconcilerPeriod?: string };
    namespace?: { reconcilerPeriod?: string };
    loadBalancer?: { assignIPs?: 'AllServices' | 'RequestedServicesOnly' };
    policyMigration?: { enabled?: EnabledDisabled };
  };
  debugProfilePort?: number;
}

export interface KubeControllersConfigurationStatus {
  runningConfig?: Record<string, unknown>;
  environmentVars?: Record<string, string>;
}

export type KubeControllersConfiguration = ResourceEnvelope<
  'KubeControllersConfiguration',
  KubeControllersConfigurationSpec
> & { status?: KubeControllersConfigurationStatus };

type Controllers = KubeControllersConfigurationSpec['controllers'];
type NodeController = NonNullable<Controllers['node']>;
type HostEndpointConfig = NonNullable<NodeController['hostEndpoint']>;

export const KUBE_CONTROLLERS_CONFIG_NAME = 'default';
const INT32_MAX = 2 ** 31 - 1;
const DNS1123_SUBDOMAIN_MAX = 253;

const enabledDisabled = (what: string) => oneOf(['Enabled', 'Disabled'], what);
const reconciler = struct<{ reconcilerPeriod?: string }>({ reconcilerPeriod: opt(durationField) });

/** clientv3's template checks: a name (unique, at most 253 characters) and CIDRs or a pattern. */
function checkTemplates(templates: readonly HostEndpointTemplate[], path: string, issues: Issues): void {
  const seen = new Set<string>();
  templates.forEach((t, i) => {
    const at = `${path}[${i}]`;
    const name = t.generateName ?? '';
    if (name === '') issues.add(`${at}.generateName`, 'Template name must be specified');
    else if (name.length > DNS1123_SUBDOMAIN_MAX)
      issues.add(`${at}.generateName`, 'Template name must be shorter than 253 characters');
    else if (seen.has(name)) issues.add(`${at}.generateName`, 'Template name must be unique');
    seen.add(name);
    if ((t.interfaceCIDRs ?? []).length === 0 && (t.interfacePattern ?? '') === '')
      issues.add(at, 'InterfaceCIDRs or InterfacePattern must be specified');
  });
}

const template = struct<HostEndpointTemplate>({
  generateName: opt(nameField),
  interfaceCIDRs: opt(list(cidrField)),
  interfacePattern: opt(checked((s) => (s === '' ? undefined : regexpProblem(s)))),
  labels: opt(labelsField),
  nodeSelector: opt(selectorField()),
});

const hostEndpoint = struct<HostEndpointConfig>({
  autoCreate: opt(enabledDisabled('autoCreate')),
  createDefaultHostEndpoint: opt(enabledDisabled('createDefaultHostEndpoint')),
  templates: opt(refine(list(template), checkTemplates)),
});

const controllers = struct<Controllers>({
  node: opt(
    struct<NodeController>({
      reconcilerPeriod: opt(durationField),
      syncLabels: opt(enabledDisabled('syncLabels')),
      hostEndpoint: opt(hostEndpoint),
      leakGracePeriod: withDefault(durationField, '15m0s'),
    }),
  ),
  policy: opt(reconciler),
  workloadEndpoint: opt(reconciler),
  serviceAccount: opt(reconciler),
  namespace: opt(reconciler),
  loadBalancer: opt(
    struct<NonNullable<Controllers['loadBalancer']>>({
      assignIPs: withDefault(oneOf(['AllServices', 'RequestedServicesOnly'], 'assignIPs'), 'AllServices'),
    }),
  ),
  policyMigration: opt(
    struct<NonNullable<Controllers['policyMigration']>>({ enabled: opt(enabledDisabled('enabled')) }),
  ),
});

export const kubeControllersConfigurationSpec = struct<KubeControllersConfigurationSpec>({
  logSeverityScreen: opt(oneOf(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'logSeverityScreen')),
  healthChecks: opt(enabledDisabled('healthChecks')),
  etcdV3CompactionPeriod: opt(durationField),
  prometheusMetricsPort: withDefault(int(0, INT32_MAX), 9094),
  // Go's `json:"controllers"` without omitempty: an absent block is an empty one.
  controllers: withDefault(controllers, {}),
  debugProfilePort: opt(int(0, INT32_MAX)),
});

/** Written by kube-controllers: kept as it is (an object). */
const record: Decoder<Record<string, unknown>> = (v, path, issues) => {
  if (isRecord(v)) return v;
  issues.add(path, 'must be an object');
  return undefined;
};

const status = struct<KubeControllersConfigurationStatus>(
  {
    runningConfig: opt(record),
    environmentVars: opt(stringMap),
  },
  { strict: false },
);

export const kubeControllersConfigurationCodec = calicoKindWithStatus({
  kind: 'KubeControllersConfiguration',
  checkName: (name) =>
    name === KUBE_CONTROLLERS_CONFIG_NAME
      ? undefined
      : `Cannot create a Kube Controllers Configuration resource with a name other than "${KUBE_CONTROLLERS_CONFIG_NAME}"`,
  spec: kubeControllersConfigurationSpec,
  status,
});
