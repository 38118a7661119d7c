/**
 * calicoctl's input and output bounds (api/limits.ts): streams and large files stop at the limit, binary
 * and non-UTF-8 input is refused at its first bad byte, and error output stays small however bad the input.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_PROBLEMS_SHOWN, MAX_SOURCE_BYTES, MAX_TOTAL_BYTES } from '../api/limits.js';
import { calicoctl } from './testing.js';

let dir = '';
let env: Record<string, string> = {};
const GNP = (name: string, selector: string): string =>
  `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  selector: ${JSON.stringify(selector)}\n`;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - t0 };
}

describe('calicoctl input bounds', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calicoctl-bounds-'));
    env = { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: join(dir, 'store', 'calico.db') };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('-f /dev/zero stops at the first byte with one short error, for every reading command', async () => {
    for (const cmd of ['validate', 'apply', 'create', 'get', 'delete']) {
      const { value: r, ms } = await timed(() => calicoctl([cmd, '-f', '/dev/zero'], { env }));
      assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /^\/dev\/zero: byte offset 0: yaml: control characters are not allowed$/m);
      assert.ok(r.stderr.length < 500, r.stderr);
      assert.ok(ms < 10_000, `${cmd} took ${ms} ms`);
    }
    assert.equal(existsSync(join(dir, 'store')), false, 'nothing may be written for invalid input');
  });

  it('a stream or file over the limit is refused as soon as the limit is passed', async () => {
    const big = Buffer.alloc(MAX_SOURCE_BYTES + 1, 'a');
    const stdin = await calicoctl(['apply', '-f', '-'], { env, stdin: big });
    assert.equal(stdin.status, 1);
    assert.equal(
      stdin.stderr,
      '<stdin>: input is larger than 16 MiB, the limit for one file or stdin; split it into smaller files\n',
    );
    const file = join(dir, 'big.yaml');
    await writeFile(file, Buffer.alloc(MAX_SOURCE_BYTES + 64 * 1024, 'a'));
    const { value: r, ms } = await timed(() => calicoctl(['validate', '-f', file], { env }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /big\.yaml: input is larger than 16 MiB/);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    assert.equal(existsSync(join(dir, 'store')), false);
  });

  it('all files of one command together are bounded too', async () => {
    const d = join(dir, 'many');
    const per = Math.floor(MAX_TOTAL_BYTES / 3) + 1024;
    await mkdir(d);
    for (const n of ['a', 'b', 'c']) await writeFile(join(d, `${n}.yaml`), Buffer.alloc(per, '#'));
    const r = await calicoctl(['validate', '-f', d], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /c\.yaml: the input of this command is larger than 32 MiB in all, the limit/);
  });

  it('invalid UTF-8 is refused with the file, the byte offset and go-yaml’s words', async () => {
    const file = join(dir, 'latin1.yaml');
    const head = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: caf';
    await writeFile(file, Buffer.concat([Buffer.from(head), Buffer.from([0xe9]), Buffer.from('-au-lait\n')]));
    const r = await calicoctl(['validate', '-f', file], { env });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`latin1\\.yaml: byte offset ${head.length + 1}: yaml: invalid trailing UTF-8 octet`),
    );
    const bin = await calicoctl(['validate', '-f', '-'], {
      env,
      stdin: Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
    });
    assert.match(bin.stderr, /^<stdin>: byte offset 0: yaml: control characters are not allowed$/m);
    // A UTF-8 byte-order mark is fine.
    const bom = await calicoctl(['validate', '-f', '-'], {
      env,
      stdin: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GNP('p', 'all()'))]),
    });
    assert.equal(bom.status, 0, bom.stderr);
  });

  it('a huge value or a flood of problems gives bounded error output', async () => {
    const huge = await calicoctl(['validate', '-f', '-'], {
      env,
      stdin: GNP('n'.repeat(100_000), `a == "${'x'.repeat(1 << 20)}" &&`),
    });
    assert.equal(huge.status, 1);
    assert.ok(huge.stderr.length < 2000, `stderr is ${huge.stderr.length} characters`);
    assert.match(huge.stderr, /\(100000 characters\)/);
    assert.match(huge.stderr, /spec\.selector: .*\.\.\. \(10485\d\d characters\)/);

    const docs = Array.from({ length: 5000 }, (_, i) => GNP(`p${i}`, 'app ==')).join('---\n');
    const flood = await calicoctl(['apply', '-f', '-'], { env, stdin: docs });
    assert.equal(flood.status, 1);
    const lines = flood.stderr.trimEnd().split('\n');
    assert.equal(lines.length, MAX_PROBLEMS_SHOWN + 2);
    assert.equal(lines.at(-2), `... and ${5000 - MAX_PROBLEMS_SHOWN} more problem(s) not shown`);
    assert.match(lines.at(-1) ?? '', /^Failed to execute command: 5000 problem\(s\) found in <stdin>/);
  });

  it('deeply nested documents are refused without exhausting the stack', async () => {
    for (const text of ['['.repeat(100_000) + ']'.repeat(100_000), `a: ${'['.repeat(100_000)}`]) {
      const r = await calicoctl(['validate', '-f', '-'], { env, stdin: text });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /<stdin>: document 0: .*document is nested (more than 200 levels|too deeply)/);
    }
  });
});
