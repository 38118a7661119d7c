import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../lib/async.js';
import { startWhisker, type Whisker } from './server.js';
import { policyDatastore, sampleFlows, type TestDatastore } from './testing/fixtures.js';
import { startFakeGoldmane, type FakeGoldmane } from './testing/goldmane-fake.js';

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function filters(f: unknown): string {
  return encodeURIComponent(JSON.stringify(f));
}

/** Reads Server-Sent Events `data:` lines until `count` have arrived (bounded), then hangs up. */
function sse(url: string, count: number, onOpen: () => void): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    let buffered = '';
    const req = request(url, { timeout: 10_000 }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream');
      onOpen();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let at: number;
        while ((at = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, at);
          buffered = buffered.slice(at + 2);
          if (block.startsWith('data: ')) events.push(JSON.parse(block.slice(6)));
          if (events.length === count) {
            req.destroy();
            resolve(events);
          }
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`event stream: ${events.length} of ${count} events`)));
    req.on('error', (e) => {
      if (events.length < count) reject(e);
    });
    req.end();
  });
}

describe('whisker backend', () => {
  let goldmane: FakeGoldmane;
  let store: TestDatastore;
  let whisker: Whisker;
  const { denied, allowed } = sampleFlows();

  before(async () => {
    goldmane = await startFakeGoldmane([denied, allowed]);
    store = await policyDatastore();
    whisker = await startWhisker({ port: 0, goldmane: goldmane.address, datastore: store.backend });
  });
  after(async () => {
    await whisker.close();
    await goldmane.close();
    await store.close();
  });

  it("lists flows in whisker-backend's shape", async () => {
    const { status, body } = await get(`${whisker.url}flows`);
    assert.equal(status, 200);
    assert.deepEqual(body['total'], { totalPages: 1 });
    const items = body['items'] as Record<string, unknown>[];
    assert.equal(items.length, 2);
    const db = items.find((i) => i['dest_name'] === 'db-*');
    assert.ok(db !== undefined);
    assert.equal(db['action'], 'Deny');
    assert.equal(db['dest_port'], 5432);
    assert.equal(db['start_time'], new Date(denied.start_time * 1000).toISOString().replace('.000', ''));
    assert.equal(db['source_labels'], 'app=frontend');
    assert.deepEqual((db['policies'] as { enforced: unknown[] }).enforced, [
      {
        kind: 'GlobalNetworkPolicy',
        name: 'deny-db',
        namespace: '',
        tier: 'default',
        action: 'Deny',
        policy_index: 0,
        rule_index: 1,
        trigger: null,
      },
    ]);
  });

  it('filters by action, port, policy and namespace (Global is -)', async () => {
    const byAction = await get(`${whisker.url}flows?filters=${filters({ actions: ['Deny'] })}`);
    assert.deepEqual(
      (byAction.body['items'] as { dest_name: string }[]).map((i) => i.dest_name),
      ['db-*'],
    );
    const byPort = await get(`${whisker.url}flows?filters=${filters({ dest_ports: [{ value: 80 }] })}`);
    assert.deepEqual(
      (byPort.body['items'] as { dest_name: string }[]).map((i) => i.dest_name),
      ['web-*'],
    );
    const byPolicy = await get(
      `${whisker.url}flows?filters=${filters({ policies: [{ name: { value: 'staged', type: 'Fuzzy' } }] })}`,
    );
    assert.deepEqual(
      (byPolicy.body['items'] as { dest_name: string }[]).map((i) => i.dest_name),
      ['web-*'],
    );
    const global = await get(
      `${whisker.url}flows?filters=${filters({ dest_namespaces: [{ value: 'Global', type: 'Exact' }] })}`,
    );
    assert.deepEqual(global.body['items'], []);
  });

  it('refuses bad queries naming the parameter and field', async () => {
    const bad = await get(`${whisker.url}flows?filters=${filters({ actions: ['deny'] })}`);
    assert.equal(bad.status, 400);
    assert.match(
      String(bad.body['error']),
      /^filters\.actions\[0\]: unknown value "deny"; allowed values are/,
    );
    const notJson = await get(`${whisker.url}flows?filters=%7Bnope`);
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.body['error']), /^filters: not JSON/);
    const unknown = await get(`${whisker.url}flows?filters=${filters({ colour: [] })}`);
    assert.equal(unknown.body['error'], 'filters: unknown field "colour"');
    const port = await get(`${whisker.url}flows?filters=${filters({ dest_ports: [{ value: 70000 }] })}`);
    assert.equal(port.body['error'], 'filters.dest_ports[0].value: must be a port number (0-65535)');
    const sort = await get(`${whisker.url}flows?sortBy=Size`);
    assert.match(String(sort.body['error']), /^sortBy: unknown value "Size"/);
    const method = await fetch(`${whisker.url}flows`, { method: 'POST' });
    assert.equal(method.status, 405);
  });

  it('streams flows as Server-Sent Events: the backfill, then each new flow', async () => {
    const later = { ...sampleFlows().denied, Key: { ...denied.Key, dest_port: 5433 } };
    const events = await sse(
      `${whisker.url}flows?watch=true&startTimeGte=-3600&filters=${filters({ actions: ['Deny'] })}`,
      2,
      () => {
        void waitFor(() => goldmane.streams === 1, { timeoutMs: 5_000, what: 'stream open' }).then(() => {
          goldmane.push(later);
        });
      },
    );
    assert.deepEqual(
      events.map((e) => (e as { dest_port: number }).dest_port),
      [5432, 5433],
    );
    // The browser hung up: the Goldmane stream behind it is cancelled.
    await waitFor(() => goldmane.streams === 0, { timeoutMs: 5_000, what: 'Goldmane stream cancelled' });
  });

  it('gives filter hints as the viewer shows them', async () => {
    const { status, body } = await get(`${whisker.url}flows-filter-hints?type=DestNamespace`);
    assert.equal(status, 200);
    assert.deepEqual(body['items'], [{ value: 'data' }, { value: 'shop' }]);
    const bad = await get(`${whisker.url}flows-filter-hints?type=Colour`);
    assert.equal(bad.status, 400);
    assert.match(
      String(bad.body['error']),
      /^type: unknown filter type value Colour; allowed values are 'DestName'/,
    );
  });

  it('serves a policy as calicoctl get -o yaml prints it, with each rule', async () => {
    const { status, body } = await get(`${whisker.url}policy?kind=GlobalNetworkPolicy&name=deny-db`);
    assert.equal(status, 200);
    const doc = parseYaml(String(body['yaml'])) as { kind: string; metadata: { name: string } };
    assert.equal(doc.kind, 'GlobalNetworkPolicy');
    assert.equal(doc.metadata.name, 'deny-db');
    assert.match(String(body['yaml']), /^apiVersion: projectcalico\.org\/v3\nkind: GlobalNetworkPolicy\n/);
    const ingress = body['ingress'] as string[];
    assert.equal(ingress.length, 2);
    assert.deepEqual(parseYaml(ingress[1] ?? ''), {
      action: 'Deny',
      destination: { ports: [5432] },
      protocol: 'TCP',
    });
    const np = await get(
      `${whisker.url}whisker-backend/policy?kind=CalicoNetworkPolicy&namespace=shop&name=allow-web`,
    );
    assert.equal(np.status, 200);
    assert.match(String(np.body['yaml']), /namespace: shop/);
  });

  it('says why a hit has no policy to show, and when one is missing', async () => {
    const missing = await get(`${whisker.url}policy?kind=GlobalNetworkPolicy&name=nope`);
    assert.equal(missing.status, 404);
    assert.match(String(missing.body['error']), /nope/);
    const profile = await get(`${whisker.url}policy?kind=Profile&name=kns.shop`);
    assert.equal(profile.status, 400);
    assert.match(String(profile.body['error']), /^kind Profile: a profile is not shown as a policy/);
    const noNs = await get(`${whisker.url}policy?kind=CalicoNetworkPolicy&name=allow-web`);
    assert.equal(noNs.body['error'], 'namespace: required for kind CalicoNetworkPolicy');
  });

  it('reports an unreachable Goldmane as 502 naming it', async () => {
    const lonely = await startWhisker({ port: 0, goldmane: '127.0.0.1:1' });
    try {
      const { status, body } = await get(`${lonely.url}flows`);
      assert.equal(status, 502);
      assert.match(String(body['error']), /^goldmane 127\.0\.0\.1:1: Flows\.List: UNAVAILABLE/);
      const policy = await get(`${lonely.url}policy?kind=GlobalNetworkPolicy&name=deny-db`);
      assert.equal(policy.status, 503);
    } finally {
      await lonely.close();
    }
  });

  it('serves the page, its script and style, with a same-origin content policy', async () => {
    for (const [path, type] of [
      ['', 'text/html'],
      ['whisker.js', 'text/javascript'],
      ['whisker.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${whisker.url}${path}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}`));
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      await res.text();
    }
  });
});
