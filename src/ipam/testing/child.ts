/**
 * A separate process for the crash test: `child.ts <config JSON> <host> <handle prefix>` allocates one address
 * per handle forever (releasing every third one again), printing `ack <n>` after each completed operation. The
 * parent SIGKILLs it at an arbitrary moment.
 */
import { openBackend, type DatastoreConfig } from '../../datastore/config.js';
import { IpamClient } from '../allocator.js';

async function main(argv: readonly string[]): Promise<void> {
  const [configJson, host, prefix] = argv;
  const backend = await openBackend(JSON.parse(configJson ?? '{}') as DatastoreConfig);
  const ipam = new IpamClient(backend);
  const name = host ?? 'crash-node';
  for (let i = 0; ; i++) {
    const handleId = `${prefix ?? 'crash'}-${i}`;
    await ipam.autoAssign({ num4: 1, num6: 0, hostname: name, handleId, attrs: { node: name } });
    if (i % 3 === 2) await ipam.releaseByHandle(`${prefix ?? 'crash'}-${i - 1}`);
    process.stdout.write(`ack ${i}\n`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
