/**
 * The packets Calico `Log` rules log on a lab node. The dataplane sends them to the kernel log (`log prefix
 * "calico-packet: "`), which cannot be read per namespace, and to NFLOG group 20, which can: each node of a
 * lab with agents runs `tcpdump -i nflog:20 -U -w -` in its namespace from the start, writing
 * `<node run dir>/packets.pcap` (tcpdump's own messages go to `packets.log`), so the packet log holds
 * everything logged since the node came up, like a kernel log would. `calico-lab logs` reads it
 * (parseNflogPcap) and prints one line per packet in the kernel log's words (`SRC= DST= PROTO=`).
 *
 * NFLOG delivers a group to one listener per namespace; the capture is that listener. A lab created before
 * this existed, or a machine without tcpdump, has no packet log (the reason is given when asked).
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseNflogPcap, type NflogRecord } from '../dataplane/nflog.js';
import { LOG_ACTION_NFLOG_GROUP } from '../dataplane/rules/names.js';
import { CalicoError } from '../lib/errors.js';
import { LabProcess } from './process.js';
import { saveState, type LabState, type NodeRecord } from './state.js';

/** The NFLOG group of Calico `Log` rules in this dataplane. */
export const PACKET_LOG_NFLOG_GROUP = LOG_ACTION_NFLOG_GROUP;

export function packetLogFiles(node: Pick<NodeRecord, 'runDir'>): { pcap: string; log: string } {
  return { pcap: join(node.runDir, 'packets.pcap'), log: join(node.runDir, 'packets.log') };
}

/** The tcpdump binary on PATH, or undefined. */
export function findTcpdump(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  return dirs.map((d) => join(d, 'tcpdump')).find((p) => existsSync(p));
}

/** Starts the node's capture of NFLOG group 20 (the pcap file is rewritten from its start). */
export function startPacketCapture(
  node: Pick<NodeRecord, 'netns' | 'runDir'>,
  options: { readonly detached: boolean; readonly tcpdump: string },
): LabProcess {
  const files = packetLogFiles(node);
  return LabProcess.spawn({
    netns: node.netns,
    command: options.tcpdump,
    // -U: each packet is written out at once, so a reader sees it while the capture runs.
    args: ['-i', `nflog:${PACKET_LOG_NFLOG_GROUP}`, '-U', '-w', '-'],
    logFile: files.log,
    stdoutFile: files.pcap,
    detached: options.detached,
  });
}

/** The packets logged so far on `node`; [] while the capture has written nothing (no packet yet). */
export function readPacketLog(node: Pick<NodeRecord, 'runDir'>): NflogRecord[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(packetLogFiles(node).pcap);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return bytes.length === 0 ? [] : parseNflogPcap(bytes);
}

const PROTOCOLS: Readonly<Record<number, string>> = {
  1: 'ICMP',
  6: 'TCP',
  17: 'UDP',
  58: 'ICMPv6',
  132: 'SCTP',
};

/** One logged packet as a line: `node-1 calico-packet: SRC=10.244.1.2 DST=10.244.2.3 PROTO=TCP`. */
export function formatPacket(node: string, r: NflogRecord): string {
  const proto = r.protocol === undefined ? '?' : (PROTOCOLS[r.protocol] ?? String(r.protocol));
  const prefix = r.prefix === '' ? `group ${r.group}: ` : r.prefix;
  return `${node} ${prefix}SRC=${r.src ?? '?'} DST=${r.dst ?? '?'} PROTO=${proto}`;
}

/**
 * Starts the node's capture in a lab with agents (its pid recorded in the state), when tcpdump is installed;
 * without, the node has no packet log and `nodePacketLog` says why.
 */
export function startPacketLog(state: LabState, n: NodeRecord): void {
  const tcpdump = findTcpdump();
  if (state.agentEntry === undefined || tcpdump === undefined) return;
  n.packetLogPid = startPacketCapture(n, { detached: state.detached, tcpdump }).pid;
  saveState(state);
}

/** The packets logged on the node so far; throws, saying why, when it has no packet log. */
export function nodePacketLog(state: LabState, n: Readonly<NodeRecord>): NflogRecord[] {
  if (n.packetLogPid === undefined) {
    const why =
      state.agentEntry === undefined
        ? 'the lab runs no agents, so no Log rules'
        : findTcpdump() === undefined
          ? 'tcpdump is not installed (apt-get install tcpdump)'
          : 'its capture was not started (a lab made by an older calico-lab)';
    throw new CalicoError('CALICO_ERR_NOT_FOUND', `node ${n.name} has no packet log: ${why}`);
  }
  if (!LabProcess.adopt(n.packetLogPid).isRunning())
    throw new CalicoError(
      'CALICO_ERR_IO',
      `the packet capture of node ${n.name} (pid ${n.packetLogPid}) is gone; see ${packetLogFiles(n).log}`,
    );
  return readPacketLog(n);
}
