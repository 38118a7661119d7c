/**
 * Test support: a real grpc-js FlowCollector server (Goldmane's Connect RPC) that records every FlowUpdate and
 * answers each with a FlowReceipt, on a unix socket (reachable from any network namespace: the agent under
 * test runs in its node's namespace) or loopback.
 */
import * as grpc from '@grpc/grpc-js';
import type { Resource } from '../../datastore/index.js';
import type { Flow } from '../../flows/types.js';
import { goldmaneServices } from '../../goldmane/proto.js';

export class TestFlowCollector implements AsyncDisposable {
  readonly flows: Flow[] = [];
  readonly #server = new grpc.Server();
  /** Streams opened by clients so far. */
  connects = 0;
  /** Answer with receipts (false: hold them back, as a stuck aggregator would). */
  answering = true;
  readonly #streams = new Set<grpc.ServerDuplexStream<{ flow: Flow }, object>>();

  constructor() {
    this.#server.addService(goldmaneServices().FlowCollector.service, {
      Connect: (call: grpc.ServerDuplexStream<{ flow: Flow }, object>) => {
        this.connects++;
        this.#streams.add(call);
        call.on('data', (u: { flow: Flow }) => {
          this.flows.push(u.flow);
          if (this.answering) call.write({});
        });
        call.on('end', () => {
          call.end();
        });
        call.on('error', () => undefined);
        call.on('close', () => this.#streams.delete(call));
      },
    });
  }

  /** Binds `address` (`unix:///path` or `127.0.0.1:0`); returns the target clients use. */
  async listen(address: string): Promise<string> {
    const port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e, p) => {
        if (e !== null) reject(e);
        else resolve(p);
      });
    });
    return address.startsWith('unix:') ? address : `127.0.0.1:${port}`;
  }

  /** Ends every open stream with an error (an aggregator going away). */
  dropStreams(): void {
    for (const s of this.#streams)
      s.emit('error', { code: grpc.status.UNAVAILABLE, details: 'dropped by the test' });
    this.#streams.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#server.forceShutdown();
    await Promise.resolve();
  }
}

const C = 'projectcalico.org/v3';

/**
 * The policies of the flow-log tests: TCP 8080 allowed in to `app == 'server'` (so other ports end at the
 * default tier's drop), and a staged policy ordered before it that would deny 8080.
 */
export function serverPolicies(): Resource[] {
  const spec = (order: number, action: string) => ({
    order,
    selector: "app == 'server'",
    types: ['Ingress'],
    ingress: [{ action, protocol: 'TCP', destination: { ports: [8080] } }],
  });
  return [
    { apiVersion: C, kind: 'GlobalNetworkPolicy', metadata: { name: 'allow-8080' }, spec: spec(10, 'Allow') },
    {
      apiVersion: C,
      kind: 'StagedGlobalNetworkPolicy',
      metadata: { name: 'lockdown' },
      spec: spec(5, 'Deny'),
    },
  ] as unknown as Resource[];
}
