#!/usr/bin/env node
/** The `calico-ipam` CNI IPAM plugin executable (see ipam-plugin.ts). */
import { calicoIpamPlugin } from './ipam-plugin.js';
import { pluginMain } from './skel.js';

await pluginMain(calicoIpamPlugin);
