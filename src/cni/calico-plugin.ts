/**
 * `calico`: the CNI plugin's commands (ADD in calico-add.ts, DEL and GC in calico-del.ts, CHECK and STATUS
 * in calico-check.ts), for the shared frame in skel.ts.
 */
import { calicoAdd } from './calico-add.js';
import { calicoCheck, calicoStatus } from './calico-check.js';
import { calicoDel, calicoGc } from './calico-del.js';
import { CALICO_ARG_SCHEMAS } from './invocation.js';
import { checkDatastoreReachable } from './node.js';
import type { PluginCommands } from './plugin.js';

export const calicoPlugin: PluginCommands = {
  program: 'calico',
  argSchemas: CALICO_ARG_SCHEMAS,
  add: calicoAdd,
  del: calicoDel,
  check: calicoCheck,
  gc: calicoGc,
  status: calicoStatus,
  test: (ctx) => checkDatastoreReachable(ctx.conf, ctx.host),
};
