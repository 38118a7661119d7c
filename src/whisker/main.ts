#!/usr/bin/env node
/**
 * calico-whisker: the flow viewer (Calico's Whisker page and whisker-backend in one program), composition root.
 *
 *   browser ──HTTP──▶ server.ts ──gRPC Flows (List, Stream, FilterHints)──▶ calico-goldmane :7443
 *                         └── /policy ──▶ datastore (as calicoctl opens it: -c FILE, else the environment)
 *
 * Flags: `--port` (else $PORT, else 8081), `--host` (default all interfaces, as whisker-backend), `--goldmane
 * host:port` (else $GOLDMANE_HOST, whisker-backend's variable, else 127.0.0.1:7443), `-c/--config FILE`
 * (calicoctl's client configuration; without it DATASTORE_TYPE, CALICO_DATASTORE_PATH, ETCD_ENDPOINTS,
 * KUBECONFIG... as for calicoctl). An embedded datastore file that does not exist is not created: the page then
 * shows flows without policy YAML. Prints `calico-whisker: serving <url>` on stdout once listening; SIGTERM or
 * SIGINT close the streams, the listener and the connections.
 */
import { existsSync, realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE, loadClientConfig, type DatastoreConfig } from '../datastore/index.js';
import { GOLDMANE_DEFAULT_PORT } from '../goldmane/client.js';
import { errorMessage } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { DEFAULT_WHISKER_PORT, startWhisker } from './server.js';

const USAGE = `Usage: calico-whisker [options]

Options:
  --port=PORT          HTTP port of the page and its API (default $PORT, else ${DEFAULT_WHISKER_PORT}; 0 picks a free one)
  --host=ADDRESS       address to listen on (default 0.0.0.0, all interfaces)
  --goldmane=HOST:PORT calico-goldmane's gRPC address (default $GOLDMANE_HOST, else 127.0.0.1:${GOLDMANE_DEFAULT_PORT})
  -c --config=FILE     datastore configuration, as calicoctl's (default ${DEFAULT_CONFIG_FILE}, else the
                       environment: DATASTORE_TYPE, CALICO_DATASTORE_PATH, ETCD_ENDPOINTS, KUBECONFIG, ...)
  -h --help            this text`;

export interface WhiskerFlags {
  readonly port: number;
  readonly host: string;
  readonly goldmane: string;
  readonly config: string;
}

export function parseFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): WhiskerFlags | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      goldmane: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const portText = values.port ?? env['PORT'] ?? String(DEFAULT_WHISKER_PORT);
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: ${JSON.stringify(portText)} is not a port number`);
  const goldmane = values.goldmane ?? env['GOLDMANE_HOST'] ?? `127.0.0.1:${GOLDMANE_DEFAULT_PORT}`;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(goldmane))
    throw new Error(`--goldmane: ${JSON.stringify(goldmane)} is not HOST:PORT`);
  return { port, host: values.host ?? '0.0.0.0', goldmane, config: values.config ?? DEFAULT_CONFIG_FILE };
}

/** The datastore to read policies from; undefined when it is an embedded file that does not exist. */
async function datastore(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<DatastoreConfig | undefined> {
  const config = await loadClientConfig({ file, env });
  if (config.datastoreType === 'embedded' && !existsSync(config.datastorePath)) {
    process.stderr.write(
      `calico-whisker: embedded datastore ${config.datastorePath} does not exist; policies will not be shown\n`,
    );
    return undefined;
  }
  return config;
}

export async function main(argv: readonly string[], env = process.env): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv, env);
  } catch (e) {
    process.stderr.write(`calico-whisker: ${errorMessage(e)}\n${USAGE}\n`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let whisker;
  try {
    const store = await datastore(flags.config, env);
    whisker = await startWhisker({
      port: flags.port,
      host: flags.host,
      goldmane: flags.goldmane,
      ...(store === undefined ? {} : { datastore: store }),
    });
  } catch (e) {
    process.stderr.write(`calico-whisker: ${errorMessage(e)}\n`);
    return 1;
  }
  process.stdout.write(`calico-whisker: serving ${whisker.url} (Goldmane ${flags.goldmane})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await whisker.close();
  return 0;
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  process.exitCode = await main(process.argv.slice(2));
}
