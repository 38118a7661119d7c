/**
 * IPAMConfiguration (projectcalico.org/v3, the cluster-wide singleton `default`): strict affinity, block
 * limits, automatic block allocation, KubeVirt address persistence and the IP reuse cooldown (reference §1.17).
 * Absent booleans take Calico's defaults (strictAffinity false, autoAllocateBlocks true); the cross-field
 * rules are checked on every decode, because Calico also rejects a stored config that breaks them.
 */
import { calicoKind } from '../codec.js';
import { bool, int, type Issues, oneOf, opt, refine, struct, withDefault } from '../decoder.js';
import type { ResourceEnvelope } from '../meta.js';

export type VMAddressPersistence = 'Enabled' | 'Disabled';

export interface IPAMConfigurationSpec {
  strictAffinity?: boolean;
  /** 0 means the default limit (20 blocks per host). */
  maxBlocksPerHost?: number;
  autoAllocateBlocks?: boolean;
  kubeVirtVMAddressPersistence?: VMAddressPersistence;
  /** Seconds a released address waits before it can be handed out again (0-1200). */
  ipCooldownSeconds?: number;
}
export type IPAMConfiguration = ResourceEnvelope<'IPAMConfiguration', IPAMConfigurationSpec>;

export const IPAM_CONFIG_NAME = 'default';
export const MAX_IP_COOLDOWN_SECONDS = 1200;
const INT32_MAX = 2 ** 31 - 1;

/** The cross-field rules (Calico's SetIPAMConfig); `path` is the spec's path. */
export function checkIPAMConfigRules(spec: IPAMConfigurationSpec, path: string, issues: Issues): void {
  const strict = spec.strictAffinity ?? false;
  if (!strict && spec.autoAllocateBlocks === false) {
    issues.add(
      `${path}.autoAllocateBlocks`,
      'autoAllocateBlocks cannot be false while strictAffinity is false (no address could ever be assigned)',
    );
  }
  if ((spec.maxBlocksPerHost ?? 0) > 0 && !strict) {
    issues.add(`${path}.maxBlocksPerHost`, 'maxBlocksPerHost can only be set when strictAffinity is true');
  }
}

export const ipamConfigSpec = refine(
  struct<IPAMConfigurationSpec>({
    strictAffinity: withDefault(bool, false),
    maxBlocksPerHost: opt(int(0, INT32_MAX)),
    autoAllocateBlocks: withDefault(bool, true),
    kubeVirtVMAddressPersistence: opt(oneOf(['Enabled', 'Disabled'], 'kubeVirtVMAddressPersistence')),
    ipCooldownSeconds: opt(int(0, MAX_IP_COOLDOWN_SECONDS)),
  }),
  checkIPAMConfigRules,
);

export const ipamConfigurationCodec = calicoKind({
  kind: 'IPAMConfiguration',
  checkName: (name) =>
    name === IPAM_CONFIG_NAME
      ? undefined
      : `IPAMConfiguration name must be "${IPAM_CONFIG_NAME}" (got "${name}")`,
  spec: ipamConfigSpec,
});
