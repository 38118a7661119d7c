#!/usr/bin/env node
/** The `calico-ipam` CNI IPAM plugin executable (see ipam-plugin.ts). */
import { realpathSync } from 'node:fs';
import { isMainModule } from '../lib/main-module.js';
import { suppressIpServernameWarning } from '../lib/warnings.js';
import { calicoIpamPlugin } from './ipam-plugin.js';
import { pluginMain } from './skel.js';

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  suppressIpServernameWarning();
  await pluginMain(calicoIpamPlugin);
}
