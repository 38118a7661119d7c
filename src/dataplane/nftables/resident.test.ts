import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { netnsRunner, type CommandRunner, type InteractiveProcess } from '../exec/command-runner.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import type { TableSpec } from './model.js';
import { oneLine, ResidentNft, SENTINEL_COMMAND, SENTINEL_OUTPUT } from './resident.js';
import { NftTable } from './table.js';
import { FakeNft } from './testing/fake-nft.js';

/** What the scripted process does with a transaction line: print these lines, say nothing ever, or exit. */
type Reply = readonly string[] | 'hang' | 'exit';

/** A scripted `nft -i`: answers each line asynchronously, the sentinel with its one line. */
class ScriptedNft implements InteractiveProcess {
  readonly written: string[] = [];
  killed = false;
  #ended = false;
  #hung = false;
  readonly #lines = new Set<(line: string) => void>();
  readonly #exits = new Set<(code: number) => void>();
  readonly #reply: (line: string) => Reply;

  constructor(reply: (line: string) => Reply) {
    this.#reply = reply;
  }

  get alive(): boolean {
    return !this.#ended;
  }

  write(text: string): void {
    if (this.#ended) return;
    this.written.push(text);
    for (const line of text.split('\n').filter((l) => l !== '')) {
      if (line === SENTINEL_COMMAND) {
        if (!this.#hung) this.#emit([`${SENTINEL_OUTPUT} (packet mark) (basetype integer), 32 bits`]);
        continue;
      }
      const r = this.#reply(line);
      if (r === 'hang') this.#hung = true;
      else if (r === 'exit')
        setImmediate(() => {
          this.#end(1);
        });
      else this.#emit(r);
    }
  }

  onLine(listener: (line: string) => void): void {
    this.#lines.add(listener);
  }

  onExit(listener: (code: number) => void): void {
    this.#exits.add(listener);
  }

  kill(): void {
    this.killed = true;
    this.#end(137);
  }

  #emit(lines: readonly string[]): void {
    setImmediate(() => {
      if (this.#ended) return;
      for (const line of lines) for (const l of this.#lines) l(line);
    });
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const l of this.#exits) l(code);
  }
}

/** A runner whose interactive commands are ScriptedNft (recorded with their command line). */
function scriptedRunner(reply: (line: string) => Reply, base: CommandRunner = new FakeCommandRunner()) {
  const started: { cmd: string; args: readonly string[]; proc: ScriptedNft }[] = [];
  const runner: CommandRunner = {
    run: (cmd, args, opts) => base.run(cmd, args, opts),
    interactive: (cmd, args) => {
      const proc = new ScriptedNft(reply);
      started.push({ cmd, args, proc });
      return proc;
    },
  };
  return { runner, started };
}

const ADD = 'add element inet calico cali40d-x { 10.0.0.1 timeout 30s expires 30s }';
const ADD2 = 'add element inet calico cali60d-x { fd00::1 timeout 30s expires 30s }';
/** Success prints nothing without -e; with it the commands and a generation line: either is success. */
const ECHO = (line: string): string[] => [...line.split('; '), '# new generation 7 by process 42 (nft)'];

describe('ResidentNft', () => {
  test('a script is one line: commands joined with "; ", blank lines and comments dropped', () => {
    assert.equal(oneLine(`${ADD}\n\n# note\n${ADD2}\n`), `${ADD}; ${ADD2}`);
    assert.equal(oneLine('\n \n'), undefined);
  });

  test('started as sh -c "exec nft -i 2>&1" through the runner (netnsRunner prefixes ip netns exec)', async () => {
    const { runner, started } = scriptedRunner(ECHO);
    const resident = new ResidentNft({ runner: netnsRunner(runner, 'node-1'), nft: '/usr/sbin/nft' });
    assert.deepEqual(await resident.transaction(`${ADD}\n`), { kind: 'applied' });
    assert.equal(started.length, 1);
    assert.equal(started[0]!.cmd, 'ip');
    assert.deepEqual(started[0]!.args, [
      'netns',
      'exec',
      'node-1',
      'sh',
      '-c',
      'exec "$0" -i 2>&1',
      '/usr/sbin/nft',
    ]);
  });

  test('success, no-op and error lines; one process for all, each line followed by the sentinel', async () => {
    const { runner, started } = scriptedRunner((line) =>
      line.includes('nosuch')
        ? ['Error: No such file or directory', line, '                        ^^^^^^']
        : line.includes('10.0.0.1')
          ? ECHO(line)
          : [],
    );
    const resident = new ResidentNft({ runner, nft: 'nft' });
    assert.deepEqual(await resident.transaction(`${ADD}\n${ADD2}\n`), { kind: 'applied' });
    assert.deepEqual(await resident.transaction(`${ADD2}\n`), { kind: 'applied' }, 'a no-op prints nothing');
    const bad = 'add element inet calico nosuch { 10.0.0.9 timeout 5s expires 5s }';
    assert.deepEqual(await resident.transaction(`${bad}\n`), {
      kind: 'rejected',
      failure: `Error: No such file or directory\n${bad}\n                        ^^^^^^`,
    });
    assert.deepEqual(await resident.transaction(`${ADD}\n`), { kind: 'applied' }, 'usable after an error');
    assert.equal(started.length, 1);
    assert.deepEqual(started[0]!.proc.written, [
      `${ADD}; ${ADD2}\n${SENTINEL_COMMAND}\n`,
      `${ADD2}\n${SENTINEL_COMMAND}\n`,
      `${bad}\n${SENTINEL_COMMAND}\n`,
      `${ADD}\n${SENTINEL_COMMAND}\n`,
    ]);
    assert.equal(resident.answered, 4);
  });

  test('no answer in time: killed, unavailable; the next transaction starts a fresh process', async () => {
    let hang = true;
    const { runner, started } = scriptedRunner((line) => (hang ? 'hang' : ECHO(line)));
    const resident = new ResidentNft({ runner, nft: 'nft', timeoutMs: 20 });
    const out = await resident.transaction(`${ADD}\n`);
    assert.ok(out.kind === 'unavailable');
    assert.match(out.reason, /no answer within 20 ms/);
    assert.equal(started[0]!.proc.killed, true);
    hang = false;
    assert.deepEqual(await resident.transaction(`${ADD}\n`), { kind: 'applied' });
    assert.equal(started.length, 2);
    assert.equal(resident.givenUp, 1);
  });

  test('an exit during a transaction: unavailable at once; a fresh process next time', async () => {
    let exit = true;
    const { runner, started } = scriptedRunner((line) => (exit ? 'exit' : ECHO(line)));
    const resident = new ResidentNft({ runner, nft: 'nft', timeoutMs: 60_000 });
    const out = await resident.transaction(`${ADD}\n`);
    assert.ok(out.kind === 'unavailable');
    assert.match(out.reason, /exited \(code 1\)/);
    exit = false;
    assert.deepEqual(await resident.transaction(`${ADD}\n`), { kind: 'applied' });
    assert.equal(started.length, 2);
  });

  test('a runner that cannot start it, one without interactive, and close: not used', async () => {
    const throwing: CommandRunner = {
      run: () => Promise.reject(new Error('unused')),
      interactive: () => {
        throw new Error('spawn failed');
      },
    };
    assert.equal(
      (await new ResidentNft({ runner: throwing, nft: 'nft' }).transaction(`${ADD}\n`)).kind,
      'unavailable',
    );
    assert.equal(new ResidentNft({ runner: new FakeCommandRunner(), nft: 'nft' }).usable, false);
    const { runner, started } = scriptedRunner(ECHO);
    const resident = new ResidentNft({ runner, nft: 'nft' });
    await resident.transaction(`${ADD}\n`);
    resident.close();
    assert.equal(started[0]!.proc.killed, true);
    assert.equal(resident.usable, false);
    assert.equal((await resident.transaction(`${ADD}\n`)).kind, 'unavailable');
  });
});

const SPEC: TableSpec = {
  sets: [
    { name: 'cali40d-x', type: 'ipv4_addr', interval: false, timeout: true, elements: [] },
    { name: 'cali60d-x', type: 'ipv6_addr', interval: false, timeout: true, elements: [] },
  ],
  maps: [],
  chains: [
    { name: 'filter-cali-po-x', rules: ['ip daddr @cali40d-x accept', 'ip6 daddr @cali60d-x accept'] },
  ],
};

/** A table whose runner is a FakeNft for `nft -f -` and a scripted resident executing lines on the same FakeNft. */
function tableSetup(mode: () => 'fake' | 'hang') {
  const fake = new FakeCommandRunner();
  const nft = new FakeNft().install(fake);
  const { runner, started } = scriptedRunner((line) => {
    if (mode() === 'hang') return 'hang';
    const r = nft.run(`${line.split('; ').join('\n')}\n`);
    return r.code === 0 ? ECHO(line) : [`Error: ${r.stderr.trim()}`, line];
  }, fake);
  const table = new NftTable({ runner });
  const scripts = () => fake.callsMatching({ cmd: 'nft', args: ['-f', '-'] }).map((c) => c.stdin ?? '');
  return { nft, table, started, scripts };
}

describe('NftTable.programLearned through the resident nft', () => {
  test('learned elements go to the resident process, planner transactions to nft -f -', async () => {
    const { nft, table, started, scripts } = tableSetup(() => 'fake');
    table.setDesired(SPEC);
    await table.apply();
    const applies = scripts().length;
    await table.programLearned([{ set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 }]);
    await table.programLearned([{ set: 'cali60d-x', addr: 'fd00::1', timeoutS: 30 }]);
    assert.equal(scripts().length, applies, 'no nft -f - for learned elements');
    assert.equal(started.length, 1);
    assert.deepEqual(nft.state.sets.get('cali40d-x')?.timeouts, new Map([['10.0.0.1', 30]]));
    const stats = table.stats();
    assert.equal(stats.learnedWrites, 2);
    assert.equal(stats.learnedResidentWrites, 2);
    assert.equal(stats.learnedResidentFallbacks, 0);
    table.close();
    assert.equal(started[0]!.proc.killed, true);
  });

  test('a rejected line is retried after re-reading the kernel; a silent process falls back to nft -f -', async () => {
    let mode: 'fake' | 'hang' = 'fake';
    const { nft, table, scripts } = tableSetup(() => mode);
    table.setDesired(SPEC);
    await table.apply();
    // The v6 set deleted behind our back: the line is refused, re-read, the v4 part written alone.
    nft.state.sets.delete('cali60d-x');
    await table.programLearned([
      { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 },
      { set: 'cali60d-x', addr: 'fd00::1', timeoutS: 30 },
    ]);
    assert.deepEqual([...nft.state.sets.get('cali40d-x')!.elements], ['10.0.0.1']);
    assert.equal(table.stats().learnedResidentWrites, 1);
    // No answer: the same transaction through nft -f - (the 2 s bound is the only wait).
    mode = 'hang';
    const before = scripts().length;
    await table.programLearned([{ set: 'cali40d-x', addr: '10.0.0.2', timeoutS: 40 }]);
    assert.deepEqual(scripts().slice(before), [
      'add element inet calico cali40d-x { 10.0.0.2 timeout 40s expires 40s }\n',
    ]);
    assert.equal(nft.state.sets.get('cali40d-x')?.timeouts?.get('10.0.0.2'), 40);
    assert.equal(table.stats().learnedResidentFallbacks, 1);
    table.close();
  });
});
