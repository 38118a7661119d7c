/**
 * Test-only agent entry for the test of the differential test: the real calico-node, except that its
 * dataplane renders every policy without its Deny rules (a deliberately broken renderer). It is not a
 * program users can start and no configuration reaches it: only the harness test names it, as the
 * conformance driver's `agentEntry`. Everything else (datastore, calc graph, nft, status files) is the
 * agent's own, so the differential harness must catch the break on real packets.
 */
import { fileURLToPath } from 'node:url';
import type { DataplaneMessage } from '../../calc/messages.js';
import { DataplaneLoop } from '../../dataplane/loop.js';

/** The break: Deny rules of policies are lost on the way to the renderer. */
export function withoutDenyRules(msg: DataplaneMessage): DataplaneMessage {
  if (msg.kind !== 'activePolicyUpdate') return msg;
  const { policy } = msg;
  return {
    ...msg,
    policy: {
      ...policy,
      inboundRules: policy.inboundRules.filter((r) => r.action !== 'deny'),
      outboundRules: policy.outboundRules.filter((r) => r.action !== 'deny'),
    },
  };
}

const onMessages = Object.getOwnPropertyDescriptor(DataplaneLoop.prototype, 'onMessages')?.value as
  ((this: DataplaneLoop, msgs: readonly DataplaneMessage[]) => void) | undefined;
if (onMessages === undefined) throw new Error('DataplaneLoop.onMessages not found');
Object.defineProperty(DataplaneLoop.prototype, 'onMessages', {
  value(this: DataplaneLoop, msgs: readonly DataplaneMessage[]): void {
    onMessages.call(this, msgs.map(withoutDenyRules));
  },
});

// Run the agent's own entry point as if it had been started directly.
process.argv[1] = fileURLToPath(new URL('../../agent/main.js', import.meta.url));
await import('../../agent/main.js');
