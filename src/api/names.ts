/**
 * Name and label rules shared by the resource kinds (reference §1.0; Kubernetes apimachinery validation).
 * Each check returns an error message naming the offending value, or undefined when the value is valid.
 */
import { show } from './decoder.js';

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`;

const DNS_LABEL = new RegExp(`^${LABEL_FMT}$`);
const DNS_SUBDOMAIN = new RegExp(`^${SUBDOMAIN_FMT}$`);
const NETWORK_POLICY_NAME = new RegExp(
  `^((${LABEL_FMT})(\\.${LABEL_FMT})?|((knp|ossg)\\.default\\.(${SUBDOMAIN_FMT})))$`,
);
const GLOBAL_NETWORK_POLICY_NAME = new RegExp(`^(${LABEL_FMT}\\.)?${LABEL_FMT}$`);
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const INTERFACE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;
const CONTAINER_ID = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;

function tooLong(what: string, s: string, max: number): string | undefined {
  return s.length > max
    ? `${what} ${show(s)} is too long by ${s.length - max} bytes (max ${max})`
    : undefined;
}

/** The generic resource name rule: DNS-1123 subdomain, at most 253 characters. */
export function checkSubdomain(s: string, what = 'name'): string | undefined {
  if (s === '') return `${what} must not be empty`;
  return (
    tooLong(what, s, DNS1123_SUBDOMAIN_MAX) ??
    (DNS_SUBDOMAIN.test(s)
      ? undefined
      : `invalid ${what} ${show(s)}: must consist of lower case alphanumeric characters, '-' or '.', and start and end with an alphanumeric character`)
  );
}

/** A single DNS label (tier names, namespace names): at most 63 characters, no dots. */
export function checkDnsLabel(s: string, what = 'name'): string | undefined {
  if (s === '') return `${what} must not be empty`;
  return (
    tooLong(what, s, DNS1123_LABEL_MAX) ??
    (DNS_LABEL.test(s)
      ? undefined
      : `invalid ${what} ${show(s)}: must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character`)
  );
}

/** (Staged)NetworkPolicy names: `label`, `label.label`, or `knp.default.<subdomain>` / `ossg.default.<subdomain>`. */
export function checkNetworkPolicyName(s: string): string | undefined {
  if (s === '') return 'name must not be empty';
  return (
    tooLong('name', s, DNS1123_SUBDOMAIN_MAX) ??
    (NETWORK_POLICY_NAME.test(s)
      ? undefined
      : `invalid name ${show(s)}: must be a DNS label, optionally with one '.' (lower case alphanumeric characters or '-')`)
  );
}

/** (Staged)GlobalNetworkPolicy names: `label` or `label.label`. */
export function checkGlobalNetworkPolicyName(s: string): string | undefined {
  if (s === '') return 'name must not be empty';
  return (
    tooLong('name', s, DNS1123_SUBDOMAIN_MAX) ??
    (GLOBAL_NETWORK_POLICY_NAME.test(s)
      ? undefined
      : `invalid name ${show(s)}: must be a DNS label, optionally with one '.' (lower case alphanumeric characters or '-')`)
  );
}

/** A Kubernetes qualified name (label and annotation keys): `[prefix/]name`. */
export function checkQualifiedName(s: string, what = 'label key'): string | undefined {
  const parts = s.split('/');
  let name: string;
  if (parts.length === 1) {
    name = s;
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix === '') return `invalid ${what} ${show(s)}: prefix part must not be empty`;
    if (prefix.length > DNS1123_SUBDOMAIN_MAX || !DNS_SUBDOMAIN.test(prefix)) {
      return `invalid ${what} ${show(s)}: prefix part must be a DNS-1123 subdomain`;
    }
  } else {
    return `invalid ${what} ${show(s)}: must be a name with an optional DNS subdomain prefix and '/'`;
  }
  if (name === '') return `invalid ${what} ${show(s)}: name part must not be empty`;
  if (name.length > QUALIFIED_NAME_MAX) {
    return `invalid ${what} ${show(s)}: name part must be no more than ${QUALIFIED_NAME_MAX} characters`;
  }
  if (!QUALIFIED_NAME_PART.test(name)) {
    return `invalid ${what} ${show(s)}: name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character`;
  }
  return undefined;
}

/** A Kubernetes label value: empty, or at most 63 characters of `[A-Za-z0-9-_.]` starting and ending alphanumeric. */
export function checkLabelValue(s: string): string | undefined {
  if (s === '') return undefined;
  if (s.length > LABEL_VALUE_MAX) {
    return `invalid label value ${show(s)}: must be no more than ${LABEL_VALUE_MAX} characters`;
  }
  if (!QUALIFIED_NAME_PART.test(s)) {
    return `invalid label value ${show(s)}: must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character`;
  }
  return undefined;
}

/** A Kubernetes port name (IANA_SVC_NAME): 1-15 of `[a-z0-9-]`, at least one letter, no `--`, no edge `-`. */
export function checkPortName(s: string): string | undefined {
  const bad = (why: string): string => `invalid port name ${show(s)}: ${why}`;
  if (s === '') return bad('must not be empty');
  if (s.length > 15) return bad('must be no more than 15 characters');
  if (!IANA_SVC_NAME.test(s)) {
    return bad(
      "must contain only lower case alphanumeric characters or '-', and start and end with an alphanumeric",
    );
  }
  if (s.includes('--')) return bad("must not contain consecutive '-'");
  if (!/[a-z]/.test(s)) return bad('must contain at least one letter');
  return undefined;
}

/** A Linux interface name (`*` is accepted where `allowWildcard`). */
export function checkInterfaceName(s: string, allowWildcard: boolean): string | undefined {
  if (allowWildcard && s === '*') return undefined;
  return INTERFACE_NAME.test(s)
    ? undefined
    : `invalid interface name ${show(s)}: must be 1-15 characters of letters, digits, '_', '.' or '-'`;
}

export function checkContainerId(s: string): string | undefined {
  return CONTAINER_ID.test(s) ? undefined : `invalid container ID ${show(s)}`;
}

/** Checks a MAC address (6 or 8 octets, separated by ':' or '-', or dotted groups of four hex digits). */
export function checkMac(s: string): string | undefined {
  const colon = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}((\1[0-9a-fA-F]{2}){2}){0,1}$/;
  const dotted = /^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){0,1}$/;
  return colon.test(s) || dotted.test(s) ? undefined : `invalid MAC address ${show(s)}`;
}
