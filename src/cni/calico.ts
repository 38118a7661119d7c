#!/usr/bin/env node
/**
 * The `calico` CNI plugin executable (install wrappers with `scripts/install-cni.sh`). Protocol: CNI_* in the
 * environment, the network configuration on stdin, the result or an error object on stdout.
 */
import { calicoPlugin } from './calico-plugin.js';
import { pluginMain } from './skel.js';

await pluginMain(calicoPlugin);
