import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import { DEFAULT_FELIX_CONFIG } from '../api/v3/felix-config.js';
import type { DataplaneMessage, IpPoolMsg } from '../calc/messages.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { waitFor } from '../lib/async.js';
import { createLogger } from './log.js';
import { FALLBACK_HOST_MTU, hostMtuOf, type Link, MtuFileWriter, parseLinks, podMtu } from './mtu-file.js';

const PATTERN = DEFAULT_FELIX_CONFIG.mtuIfacePattern;
const NO_POOLS = { ipip: false, vxlan: false, vxlanV6: false };

describe("Felix's pod MTU", () => {
  it('host MTU: the smallest operationally up interface matching mtuIfacePattern, else 1460', () => {
    const links: Link[] = parseLinks([
      { ifname: 'lo', mtu: 65536, operstate: 'UNKNOWN' },
      { ifname: 'eth0', mtu: 9000, operstate: 'UP' },
      { ifname: 'ens5', mtu: 1500, operstate: 'UP' },
      { ifname: 'eth1', mtu: 1400, operstate: 'DOWN' },
      { ifname: 'cali1234', mtu: 1300, operstate: 'UP' },
      { ifname: 'vxlan.calico', mtu: 1450, operstate: 'UNKNOWN' },
      { bogus: true },
    ]);
    assert.equal(links.length, 6);
    assert.equal(hostMtuOf(links, PATTERN), 1500);
    assert.equal(hostMtuOf(links, '^eth'), 9000, 'eth1 is down');
    assert.equal(hostMtuOf(links, '^lo$'), 65536, 'UNKNOWN counts as up (IFF_RUNNING)');
    assert.equal(hostMtuOf(links, '^wlan'), FALLBACK_HOST_MTU);
  });

  it('pod MTU: the smallest enabled encapsulation, configured or host MTU less its overhead', () => {
    const c: FelixConfig = DEFAULT_FELIX_CONFIG;
    assert.equal(podMtu(1500, c, NO_POOLS), 1500);
    assert.equal(podMtu(1500, c, { ...NO_POOLS, vxlan: true }), 1450);
    assert.equal(podMtu(1500, c, { ...NO_POOLS, vxlanV6: true }), 1430);
    assert.equal(podMtu(1500, c, { ...NO_POOLS, ipip: true, vxlan: true }), 1450);
    assert.equal(podMtu(1500, c, { ...NO_POOLS, ipip: true }), 1480);
    assert.equal(podMtu(9000, { ...c, vxlanMTU: 1400 }, { ...NO_POOLS, vxlan: true }), 1400);
    assert.equal(podMtu(1500, { ...c, vxlanEnabled: false }, { ...NO_POOLS, vxlan: true }), 1500);
    assert.equal(podMtu(1500, { ...c, vxlanEnabled: true }, NO_POOLS), 1450);
    assert.equal(podMtu(1500, { ...c, ipipEnabled: true }, NO_POOLS), 1480);
    assert.equal(podMtu(1500, { ...c, wireguardEnabled: true }, NO_POOLS), 1440);
    assert.equal(podMtu(1500, { ...c, wireguardEnabledV6: true }, NO_POOLS), 1420);
  });
});

describe('the MTU file writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-mtu-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const pool = (cidr: string, vxlanMode: IpPoolMsg['vxlanMode']): IpPoolMsg => ({
    cidr,
    vxlanMode,
    ipipMode: 'Never',
    natOutgoing: false,
    disabled: false,
    disableBGPExport: false,
  });
  const config = (c: Partial<FelixConfig> = {}): DataplaneMessage => ({
    kind: 'configUpdate',
    config: { ...DEFAULT_FELIX_CONFIG, ...c },
    sources: {},
  });

  it('writes after the first in-sync and again whenever the value changes', async () => {
    const path = join(dir, 'lib', 'mtu');
    const runner = new FakeCommandRunner().on(
      { cmd: 'ip', args: ['-j', 'link', 'show'] },
      { stdout: JSON.stringify([{ ifname: 'eth0', mtu: 1500, operstate: 'UP' }]) },
    );
    const fatal: Error[] = [];
    const w = new MtuFileWriter({
      path,
      runner,
      log: createLogger('error', () => undefined),
      onFatal: (e) => fatal.push(e),
    });
    const read = (): string => readFileSync(path, 'utf8');
    w.onMessages([config(), { kind: 'ipPoolUpdate', id: 'p', pool: pool('10.0.0.0/16', 'Always') }]);
    await w.idle();
    assert.equal(w.written, undefined, 'nothing before in-sync');
    w.onMessages([{ kind: 'inSync' }]);
    await waitWritten(w, 1450);
    assert.equal(read(), '1450');
    assert.equal(statSync(path).mode & 0o777, 0o644);
    w.onMessages([{ kind: 'ipPoolUpdate', id: 'p', pool: pool('10.0.0.0/16', 'Never') }]);
    await waitWritten(w, 1500);
    assert.equal(read(), '1500');
    w.onMessages([config({ vxlanEnabled: true, vxlanMTU: 1300 })]);
    await waitWritten(w, 1300);
    w.onMessages([{ kind: 'ipPoolRemove', id: 'p' }, config()]);
    await waitWritten(w, 1500);
    // The interfaces are read once per pattern.
    assert.equal(runner.callsMatching({ cmd: 'ip' }).length, 1);
    w.onMessages([config({ mtuIfacePattern: '^nothing$' })]);
    await waitWritten(w, FALLBACK_HOST_MTU);
    assert.equal(runner.callsMatching({ cmd: 'ip' }).length, 2);
    await w.dispose();
    assert.deepEqual(fatal, []);
  });

  it('a file it cannot write is logged, and fatal only with requireMTUFile', async () => {
    const runner = new FakeCommandRunner().on({ cmd: 'ip' }, { stdout: '[]' });
    // A path below a regular file cannot be created.
    writeFileSync(join(dir, 'blocker'), 'x');
    const blocked = join(dir, 'blocker', 'mtu');
    for (const require of [false, true]) {
      const fatal: Error[] = [];
      const lines: string[] = [];
      const w = new MtuFileWriter({
        path: blocked,
        runner,
        log: createLogger('error', (l) => lines.push(l)),
        onFatal: (e) => fatal.push(e),
      });
      w.onMessages([config({ requireMTUFile: require }), { kind: 'inSync' }]);
      await waitFor(() => lines.some((l) => l.includes('Failed to write MTU file')), {
        timeoutMs: 5_000,
        what: 'the write failure to be logged',
      });
      await w.dispose();
      assert.equal(fatal.length, require ? 1 : 0, `requireMTUFile ${String(require)}`);
      assert.equal(w.written, undefined);
    }
  });
});

function waitWritten(w: MtuFileWriter, want: number): Promise<true> {
  return waitFor(() => w.written === want, {
    timeoutMs: 5_000,
    what: `the writer to write ${want}`,
    describe: () => `written: ${String(w.written)}`,
  });
}
