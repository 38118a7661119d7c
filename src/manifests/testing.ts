/** Test helpers for the install manifests. */
import assert from 'node:assert/strict';
import { parseNetConf, type NetConf } from '../cni/netconf.js';

/**
 * The `calico` plugin's configuration of a conflist, as the runtime hands it to the plugin (the list's
 * cniVersion and name with the plugin's entry), parsed by the plugin's own parser; fails the test if refused.
 */
export function calicoPluginConf(conflist: string): NetConf {
  const list = JSON.parse(conflist) as {
    cniVersion: string;
    name: string;
    plugins: Record<string, unknown>[];
  };
  const calico = list.plugins.find((p) => p.type === 'calico');
  assert.ok(calico !== undefined, 'the conflist has a calico plugin');
  const conf = parseNetConf(JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...calico }), {});
  assert.ok(conf.ok, conf.ok ? '' : conf.error.message);
  return conf.value;
}
