#!/usr/bin/env node
/**
 * The `calico` CNI plugin executable (install wrappers with `scripts/install-cni.sh`). Protocol: CNI_* in the
 * environment, the network configuration on stdin, the result or an error object on stdout.
 */
import { realpathSync } from 'node:fs';
import { isMainModule } from '../lib/main-module.js';
import { suppressIpServernameWarning } from '../lib/warnings.js';
import { calicoPlugin } from './calico-plugin.js';
import { pluginMain } from './skel.js';

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  suppressIpServernameWarning();
  await pluginMain(calicoPlugin);
}
