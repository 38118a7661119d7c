/**
 * The plugin frame both executables share (what libcni's `skel` does for Go plugins): read the environment
 * and stdin, answer VERSION, check the config's `cniVersion` (Calico's default 0.2.0 when missing; anything
 * the plugin does not speak is code 1; CHECK needs >= 0.4.0, GC and STATUS >= 1.1.0), set up the log file,
 * dispatch, and turn the outcome into exactly one stdout document: the encoded result for ADD, nothing for
 * the other commands, or a CNI error object (with a non-zero exit). Never a stack trace.
 *
 * `runPlugin` reads no process globals: the environment, argv and stdin come in `PluginIo` and where the
 * commands run (datastore, lock, policy wait, in-process IPAM) in a `PluginHost`, so the agent's CNI server
 * runs the same code in process; `pluginMain` is the executables' wrapper around it.
 */
import { EMULATED_CALICO_VERSION } from '../lib/build-info.js';
import { standaloneHost } from './host.js';
import type { CommandContext, PluginCommands, PluginHost } from './plugin.js';
import { MAX_CONFIG_BYTES, configTooLarge } from './decode.js';
import { parseInvocation, withArgs, type InvocationEnv } from './invocation.js';
import { fileLogger, type Logger } from './log.js';
import { configVersion, parseNetConf, type NetConf } from './netconf.js';
import { toCniError } from './node.js';
import {
  CniCode,
  CniError,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  commandAllowed,
  encodeResult,
  errorObject,
  incompatibleVersion,
  isSupportedVersion,
} from './spec.js';

/** What `calico -v` and `calico-ipam -v` print: the Calico release calico-ts emulates, marked as calico-ts's. */
export const PLUGIN_VERSION = `${EMULATED_CALICO_VERSION}-calico-ts`;

export interface PluginIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly argv: readonly string[];
  readonly stdin: string;
}

export interface PluginOutcome {
  readonly stdout: string;
  readonly exitCode: number;
}

function failure(version: string, e: CniError): PluginOutcome {
  return { stdout: `${JSON.stringify(errorObject(version, e))}\n`, exitCode: 1 };
}

function versionInfo(stdin: string): PluginOutcome {
  const v = configVersion(stdin);
  const version = v.ok && isSupportedVersion(v.value) ? v.value : LATEST_VERSION;
  return {
    stdout: `${JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS })}\n`,
    exitCode: 0,
  };
}

async function dispatch(cmds: PluginCommands, ctx: CommandContext): Promise<string> {
  switch (ctx.inv.command) {
    case 'ADD':
      return `${JSON.stringify(encodeResult(await cmds.add(ctx), ctx.conf.cniVersion))}\n`;
    case 'DEL':
      await cmds.del(ctx);
      return '';
    case 'CHECK':
      await cmds.check(ctx);
      return '';
    case 'GC':
      await cmds.gc(ctx);
      return '';
    case 'STATUS':
      await cmds.status(ctx);
      return '';
    case 'VERSION':
      return versionInfo('').stdout;
  }
}

function checkVersion(inv: InvocationEnv, conf: NetConf): CniError | undefined {
  if (!isSupportedVersion(conf.cniVersion)) return incompatibleVersion(conf.cniVersion);
  const c = inv.command;
  if ((c === 'CHECK' || c === 'GC' || c === 'STATUS') && !commandAllowed(c, conf.cniVersion)) {
    return new CniError(CniCode.incompatibleVersion, `config version does not allow ${c}`);
  }
  return undefined;
}

function loggerFor(program: string, conf: NetConf): Logger {
  return fileLogger({
    path: conf.logFilePath,
    level: conf.logLevel,
    maxSizeMb: conf.logFileMaxSizeMb,
    maxCount: conf.logFileMaxCount,
    program,
  });
}

/** Runs one plugin invocation; never throws. */
export async function runPlugin(
  cmds: PluginCommands,
  io: PluginIo,
  host: PluginHost = standaloneHost,
): Promise<PluginOutcome> {
  const flag = io.argv[0];
  if (flag === '-v' || flag === '--version') return { stdout: `${PLUGIN_VERSION}\n`, exitCode: 0 };
  if (flag === '-t') return runConnectivityTest(cmds, io, host);
  const inv = parseInvocation(io.env);
  if (!inv.ok) {
    const v = configVersion(io.stdin);
    return failure(v.ok && isSupportedVersion(v.value) ? v.value : LATEST_VERSION, inv.error);
  }
  if (inv.value.command === 'VERSION') return versionInfo(io.stdin);
  const conf = parseNetConf(io.stdin, io.env);
  if (!conf.ok) {
    const v = configVersion(io.stdin);
    return failure(v.ok ? v.value : LATEST_VERSION, conf.error);
  }
  const versionProblem = checkVersion(inv.value, conf.value);
  if (versionProblem !== undefined) return failure(conf.value.cniVersion, versionProblem);
  const withPod = withArgs(inv.value, cmds.argSchemas);
  const args = withPod.ok ? withPod.value.args : {};
  const log = loggerFor(cmds.program, conf.value).child({
    cmd: inv.value.command,
    ...(inv.value.containerId === '' ? {} : { containerID: inv.value.containerId }),
    ...(args['K8S_POD_NAME'] === undefined
      ? {}
      : { pod: `${args['K8S_POD_NAMESPACE'] ?? ''}/${args['K8S_POD_NAME']}` }),
  });
  const t0 = performance.now();
  log.debug('invoked', { netns: inv.value.netns, ifname: inv.value.ifname, args: inv.value.argsText });
  if (!withPod.ok) {
    log.error('failed', { code: withPod.error.cniCode, error: withPod.error.message });
    return failure(conf.value.cniVersion, withPod.error);
  }
  try {
    const stdout = await dispatch(cmds, { inv: withPod.value, conf: conf.value, log, env: io.env, host });
    log.info('done', { ms: Math.round(performance.now() - t0) });
    return { stdout, exitCode: 0 };
  } catch (e) {
    const ce = toCniError(e);
    log.error('failed', { code: ce.cniCode, error: ce.message, details: ce.details ?? '' });
    return failure(conf.value.cniVersion, ce);
  }
}

async function runConnectivityTest(
  cmds: PluginCommands,
  io: PluginIo,
  host: PluginHost,
): Promise<PluginOutcome> {
  const conf = parseNetConf(io.stdin, io.env);
  if (!conf.ok) return failure(LATEST_VERSION, conf.error);
  try {
    await cmds.test({ conf: conf.value, log: loggerFor(cmds.program, conf.value), env: io.env, host });
    return { stdout: '', exitCode: 0 };
  } catch (e) {
    return failure(conf.value.cniVersion, toCniError(e));
  }
}

/** Reads all of stdin, up to MAX_CONFIG_BYTES (code 6 beyond); a terminal or closed stdin reads as empty. */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    // Leaving the loop destroys stdin: nothing more is read or kept.
    if (size > MAX_CONFIG_BYTES) throw configTooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The entry points' main: run, print, exit with the code. */
export async function pluginMain(cmds: PluginCommands): Promise<void> {
  // Runtimes may exec plugins with a minimal environment; the plugins need ip, nsenter, sysctl and flock.
  process.env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  // Whatever goes wrong, stdout carries one error object and no stack trace.
  const crash = (e: unknown): void => {
    process.stdout.write(failure(LATEST_VERSION, toCniError(e)).stdout, () => process.exit(1));
  };
  process.once('uncaughtException', crash);
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (e) {
    crash(
      e instanceof CniError
        ? e
        : new CniError(CniCode.ioFailure, `cannot read stdin: ${e instanceof Error ? e.message : String(e)}`),
    );
    return;
  }
  const out = await runPlugin(cmds, { env: process.env, argv: process.argv.slice(2), stdin });
  process.stdout.write(out.stdout, () => {
    process.exit(out.exitCode);
  });
}
