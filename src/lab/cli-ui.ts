/**
 * `calico-lab ui`: the flow viewer (src/whisker, Whisker's job) for the lab in the run dir, on
 * http://127.0.0.1:8081/ by default, reading flows from the lab's calico-goldmane and policies from its datastore.
 * Runs until interrupted.
 */
import { CalicoError } from '../lib/errors.js';
import { DEFAULT_WHISKER_PORT, startWhisker } from '../whisker/server.js';
import { labCommand, withLab } from './cli-lab.js';

export async function uiCommand(
  runDir: string,
  options: { readonly port?: number; readonly host?: string; readonly signal: AbortSignal },
  out: (line: string) => void,
): Promise<number> {
  return withLab(runDir, async (lab) => {
    const goldmane = lab.goldmaneServer();
    if (goldmane === undefined)
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `the lab collects no flows (its calico-goldmane is not running); ${labCommand(runDir, ['up'])} starts it`,
      );
    const whisker = await startWhisker({
      port: options.port ?? DEFAULT_WHISKER_PORT,
      host: options.host ?? '127.0.0.1',
      goldmane,
      datastore: lab.datastore,
    });
    try {
      out(`flow viewer on ${whisker.url} (flows from ${goldmane}); Ctrl-C stops it`);
      await new Promise<void>((resolve) => {
        if (options.signal.aborted) resolve();
        else
          options.signal.addEventListener(
            'abort',
            () => {
              resolve();
            },
            { once: true },
          );
      });
    } finally {
      await whisker.close();
    }
    return 0;
  });
}
