// The viewer page in headless Chromium (Debian's chromium through playwright-core) over a real calico-goldmane
// server (its aggregator on a test clock): flows reported through FlowCollector.Connect show up live, the action filter (kept in the URL) leaves the denied flow, and its details
// name the deciding policy with its rule's YAML; the allowed flow whose staged verdict is Deny carries the
// pending marker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { waitFor } from '../lib/async.js';
import { startWhisker, type Whisker } from './server.js';
import { chromiumMissing, withPage } from './testing/browser.js';
import { policyDatastore, sampleFlows, type TestDatastore } from './testing/fixtures.js';
import { startTestGoldmane, type TestGoldmane } from '../goldmane/testing.js';

const skip = chromiumMissing();

/** The body rows of the flows table, as their cells' text. */
async function rows(page: Page): Promise<string[]> {
  return page.getByRole('table', { name: 'Flows' }).locator('tbody tr').allTextContents();
}

async function waitRows(page: Page, what: string, ok: (r: string[]) => boolean): Promise<string[]> {
  let last: string[] = [];
  return waitFor(
    async () => {
      last = await rows(page);
      return ok(last) ? last : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, what, describe: () => JSON.stringify(last) },
  );
}

describe('whisker page (headless Chromium)', { skip: skip ?? false }, () => {
  let goldmane: TestGoldmane;
  let store: TestDatastore;
  let whisker: Whisker;

  before(async () => {
    goldmane = await startTestGoldmane();
    // The allowed flow was reported a minute ago, in a bucket that has completed since.
    const { allowed } = sampleFlows(goldmane.now);
    const start = goldmane.now;
    goldmane.now = allowed.start_time;
    await goldmane.report([allowed]);
    goldmane.now = start + 1;
    goldmane.rollover(0);
    store = await policyDatastore();
    whisker = await startWhisker({ port: 0, goldmane: goldmane.address, datastore: store.backend });
  });
  after(async () => {
    await whisker.close();
    await goldmane[Symbol.asyncDispose]();
    await store.close();
  });

  it('lists flows live, filters by action, and explains the denied flow and the pending verdict', async () => {
    await withPage(async (page) => {
      await page.goto(whisker.url);
      await waitRows(page, 'the backfilled allowed flow', (r) => r.length === 1 && r[0]!.includes('web-*'));
      // A flow reported after the page opened shows up, without a reload, once its bucket completes.
      const { denied } = sampleFlows(goldmane.now);
      await goldmane.report([{ ...denied, start_time: goldmane.now, end_time: goldmane.now }]);
      goldmane.rollover(2);
      await waitRows(page, 'the live denied flow', (r) => r.length === 2 && r[0]!.includes('db-*'));

      // The allowed flow is marked: staged policies would deny it.
      const webRow = page.getByRole('row').filter({ hasText: 'web-*' });
      assert.equal(await webRow.getByText('Pending: Deny').count(), 1);
      const dbRow = page.getByRole('row').filter({ hasText: 'db-*' });
      assert.equal(await dbRow.getByText(/^Pending:/).count(), 0);

      // Filter by action: the URL keeps it, and only the denied flow is left.
      await page.getByLabel('Action').selectOption('Deny');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await waitRows(page, 'only the denied flow', (r) => r.length === 1 && r[0]!.includes('db-*'));
      assert.equal(new URL(page.url()).searchParams.get('action'), 'Deny');

      // Its details: the deciding policy by name and its rule (ingress rule 1, the reporter is Dst) as YAML.
      await page
        .getByRole('button', { name: /^Details of Deny flow shop\/frontend-\* to data\/db-\*/ })
        .click();
      const details = page.getByRole('region', { name: 'Flow details' });
      await details.waitFor();
      const enforced = details.getByRole('table', { name: 'Enforced policies' });
      const deciding = enforced.locator('tr[aria-current="true"]');
      assert.match(
        (await deciding.textContent()) ?? '',
        /GlobalNetworkPolicy.*deny-db.*rule 1.*Deny.*deciding/,
      );
      const ruleYaml = details.getByLabel('Enforced deciding rule rule YAML');
      await ruleYaml.waitFor();
      const yaml = (await ruleYaml.textContent()) ?? '';
      assert.match(yaml, /action: Deny/);
      assert.match(yaml, /- 5432/);
      assert.match((await details.textContent()) ?? '', /GlobalNetworkPolicy deny-db, ingress rule 1:/);
      assert.equal(await details.getByRole('note', { name: 'Pending verdict differs' }).count(), 0);

      // Reloading the page keeps the filter (it is in the URL).
      await page.reload();
      assert.equal(await page.getByLabel('Action').inputValue(), 'Deny');
      await waitRows(page, 'the filtered list after reload', (r) => r.length === 1 && r[0]!.includes('db-*'));

      // The allowed flow's details: the pending marker and the staged policy that would deny it.
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await waitRows(page, 'both flows again', (r) => r.length === 2);
      await page.getByRole('button', { name: /^Details of Allow flow shop\/client-\*/ }).click();
      await details.getByRole('note', { name: 'Pending verdict differs' }).waitFor();
      const pendingDeciding = details
        .getByRole('table', { name: 'Pending policies' })
        .locator('tr[aria-current="true"]');
      assert.match(
        (await pendingDeciding.textContent()) ?? '',
        /StagedGlobalNetworkPolicy.*staged-deny-web.*Deny/,
      );
      const pendingRule = details.getByLabel('Pending deciding rule rule YAML');
      await pendingRule.waitFor();
      assert.match((await pendingRule.textContent()) ?? '', /action: Deny/);
    });
  });
});
