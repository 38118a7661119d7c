/**
 * The lab kubelet as a process of its own (one per lab node, in the root namespace), so that it outlives the
 * `calico-lab` command that started it. kubelets.ts starts it:
 *
 *   node kubelet-main.js --kubeconfig K --node NAME --netns NS --node-run-dir D --node-ip IP
 *     --cni-bin-dir B --dir D --mtu N --netns-prefix P --netns-owner-pid PID [--heartbeat-ms MS]
 *
 * Prints `running` on stdout once the kubelet watches its pods; SIGTERM or SIGINT stops it and leaves the
 * pods' sandboxes (a restarted kubelet adopts them; the lab removes them when it goes).
 */
import { parseArgs } from 'node:util';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import { errorMessage } from '../../lib/errors.js';
import { LabKubelet } from '../kubelet/kubelet.js';

const REQUIRED = [
  'kubeconfig',
  'node',
  'netns',
  'node-run-dir',
  'node-ip',
  'cni-bin-dir',
  'dir',
  'mtu',
  'netns-prefix',
  'netns-owner-pid',
] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(
      [...REQUIRED, 'heartbeat-ms', 'policy-setup-timeout-seconds'].map((k) => [
        k,
        { type: 'string' as const },
      ]),
    ) as Record<
      (typeof REQUIRED)[number] | 'heartbeat-ms' | 'policy-setup-timeout-seconds',
      { type: 'string' }
    >,
  });
  const v = (k: (typeof REQUIRED)[number]): string => {
    const x = values[k];
    if (typeof x !== 'string' || x === '') throw new Error(`kubelet-main: --${k} is required`);
    return x;
  };
  const num = (k: 'mtu' | 'netns-owner-pid' | 'heartbeat-ms', text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`kubelet-main: --${k} ${text} is not a number`);
    return n;
  };
  const heartbeat = values['heartbeat-ms'];
  // 0: the CNI plugin does not wait for a node agent (none runs: another policy agent is in its place).
  const policyWait = values['policy-setup-timeout-seconds'];
  if (
    typeof policyWait === 'string' &&
    !(Number.isSafeInteger(Number(policyWait)) && Number(policyWait) >= 0)
  )
    throw new Error(`kubelet-main: --policy-setup-timeout-seconds ${policyWait} is not a number of seconds`);
  const kubelet = await LabKubelet.start({
    runner: new NodeCommandRunner(),
    kubeconfig: v('kubeconfig'),
    node: { name: v('node'), netns: v('netns'), runDir: v('node-run-dir'), ip: v('node-ip') },
    cniBinDir: v('cni-bin-dir'),
    dir: v('dir'),
    mtu: num('mtu', v('mtu')),
    netnsPrefix: v('netns-prefix'),
    netnsOwnerPid: num('netns-owner-pid', v('netns-owner-pid')),
    // Probe agents and the API relay outlive a kubelet restart (it adopts them).
    detached: true,
    ...(typeof heartbeat === 'string' ? { heartbeatMs: num('heartbeat-ms', heartbeat) } : {}),
    ...(typeof policyWait === 'string' ? { policySetupTimeoutSeconds: Number(policyWait) } : {}),
    log: (l) => {
      process.stderr.write(`${new Date().toISOString()} ${l}\n`);
    },
  });
  process.stdout.write('running\n');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    kubelet.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`lab kubelet stop: ${errorMessage(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`lab kubelet: ${errorMessage(e)}\n`);
  process.exit(1);
});
