/** The name rule of the IPAM-internal kinds, whose names are derived from CIDRs, hosts and handle IDs. */
import { show } from '../decoder.js';
import { DNS1123_SUBDOMAIN_MAX } from '../names.js';

/** Non-empty, at most 253 characters, no slash or whitespace (the datastore's key rule). */
export function checkIpamObjectName(name: string): string | undefined {
  if (name === '') return 'name must not be empty';
  if (name.length > DNS1123_SUBDOMAIN_MAX)
    return `name ${show(name)} is longer than ${DNS1123_SUBDOMAIN_MAX} characters`;
  return /^[^/\s]+$/.test(name)
    ? undefined
    : `invalid name ${show(name)}: must not contain '/' or whitespace`;
}
