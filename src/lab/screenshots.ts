/**
 * Regenerates the README's screenshots of the flow viewer (docs/images/whisker-*.png) from a real lab: runs
 * `calico-lab demo --keep` in a temporary run dir, serves the viewer over the lab's calico-goldmane, captures the
 * flow list and a denied flow's details in headless Chromium, then removes the lab. Root, after `npm run build`:
 *
 *   node dist/src/lab/screenshots.js
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { LabCluster } from '../labkit/cluster.js';
import { repoRoot } from '../labkit/paths.js';
import { isMainModule } from '../lib/main-module.js';
import { startWhisker } from '../whisker/server.js';
import { screenshot } from '../whisker/testing/browser.js';

async function firstRow(page: Page): Promise<void> {
  await page.getByRole('table', { name: 'Flows' }).locator('tbody tr').first().waitFor();
}

export async function readmeScreenshots(): Promise<number> {
  const root = repoRoot();
  const runDir = mkdtempSync(join(tmpdir(), 'calico-shots-'));
  const lab = (...args: string[]): number =>
    spawnSync(process.execPath, [join(root, 'dist/src/lab/main.js'), '--run-dir', runDir, ...args], {
      stdio: 'inherit',
    }).status ?? 1;
  if (lab('demo', '--keep') !== 0) return 1;
  const cluster = await LabCluster.attach(runDir);
  try {
    const goldmane = cluster.goldmaneServer();
    if (goldmane === undefined) throw new Error('the demo lab has no calico-goldmane');
    const whisker = await startWhisker({ port: 0, goldmane, datastore: cluster.datastore });
    try {
      await screenshot(whisker.url, join(root, 'docs/images/whisker-flows.png'), firstRow, {
        width: 1500,
        height: 900,
      });
      await screenshot(
        `${whisker.url}?dest_name=web&source_name=client`,
        join(root, 'docs/images/whisker-details.png'),
        async (page) => {
          await firstRow(page);
          // The flow the staged policy would deny (enforced Allow, pending Deny): streamed once its 15 s bucket
          // is complete.
          const staged = page.getByRole('row').filter({ hasText: 'Pending: Deny' }).first();
          await staged.waitFor({ timeout: 90_000 });
          await staged
            .getByRole('button', { name: /^Details of Allow flow default\/client to production\/web/ })
            .click();
          const details = page.getByRole('region', { name: 'Flow details' });
          await details.getByRole('table', { name: 'Enforced policies' }).waitFor();
          await details.getByLabel('Pending deciding rule rule YAML').waitFor();
        },
        { width: 1500, height: 1100 },
      );
    } finally {
      await whisker.close();
    }
  } finally {
    await cluster.detach();
    lab('down');
  }
  return 0;
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync))
  process.exitCode = await readmeScreenshots();
