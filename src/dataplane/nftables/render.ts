/**
 * Renders nft scripts for `nft -f -`: a transaction is a list of operations (NftOp), one script line each,
 * applied by the kernel atomically. Names, rule text and comments have been validated (names.ts, compile.ts)
 * before they get here; the renderer re-checks names so a bug cannot produce a script that means something
 * else. Pure: the output depends only on the input, so it is golden-tested text.
 */
import type { FieldIssue } from '../../lib/errors.js';
import { BugError } from '../../lib/errors.js';
import { err, ok, type Result } from '../../lib/result.js';
import { compileTable } from './compile.js';
import { renderElement } from './elements.js';
import { NFT_FAMILY, NFT_TABLE } from '../rules/names.js';
import { emptyKernelState } from './kernel-state.js';
import type { BaseChainHook, TableSpec } from './model.js';
import type { NftOp } from './ops.js';
import { planTransaction, transactionOps } from './plan.js';
import { isValidObjectName } from './syntax.js';

/** Elements per `add element` line: keeps lines reviewable and nft's parser memory bounded. */
export const ELEMENTS_PER_LINE = 1000;

const TABLE = `${NFT_FAMILY} ${NFT_TABLE}`;

function name(n: string): string {
  if (!isValidObjectName(n))
    throw new BugError(`unvalidated nft name ${JSON.stringify(n)} reached the renderer`);
  return n;
}

function renderHook(hook: BaseChainHook): string {
  return `{ type ${hook.type} hook ${hook.hook} priority ${hook.priority}; policy ${hook.policy ?? 'accept'}; }`;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ELEMENTS_PER_LINE) out.push(items.slice(i, i + ELEMENTS_PER_LINE));
  return out;
}

function elementLines(verb: 'add' | 'delete', set: string, rendered: readonly string[]): string[] {
  return chunks(rendered).map((c) => `${verb} element ${TABLE} ${name(set)} { ${c.join(', ')} }`);
}

/** The script line(s) for one operation. */
export function renderOp(op: NftOp): string[] {
  switch (op.kind) {
    case 'addTable':
      return [`add table ${TABLE}`];
    case 'deleteTable':
      return [`delete table ${TABLE}`];
    case 'addChain':
      return [`add chain ${TABLE} ${name(op.name)}${op.hook === undefined ? '' : ` ${renderHook(op.hook)}`}`];
    case 'flushChain':
      return [`flush chain ${TABLE} ${name(op.name)}`];
    case 'deleteChain':
      return [`delete chain ${TABLE} ${name(op.name)}`];
    case 'addRule':
      return [`add rule ${TABLE} ${name(op.chain)} ${op.text} comment "${op.comment}"`];
    case 'addSet':
      return [
        `add set ${TABLE} ${name(op.name)} { type ${op.type};${op.interval ? ' flags interval;' : ''}${op.timeout ? ' flags timeout;' : ''} }`,
      ];
    case 'deleteSet':
      return [`delete set ${TABLE} ${name(op.name)}`];
    case 'addElements':
    case 'deleteElements':
      return elementLines(
        op.kind === 'addElements' ? 'add' : 'delete',
        op.set,
        op.elements.map((e) => renderElement(op.type, e)),
      );
    case 'addTimedElements':
      return elementLines(
        'add',
        op.set,
        // `expires` too: re-adding an element with an unchanged timeout does not restart its clock (kernel 6.18).
        op.elements.map((e) => `${e.element} timeout ${e.timeoutS}s expires ${e.timeoutS}s`),
      );
    case 'addMap':
      return [
        op.keyType === 'ifname'
          ? `add map ${TABLE} ${name(op.name)} { type ifname : verdict; }`
          : `add map ${TABLE} ${name(op.name)} { type ${op.keyType} : verdict; flags interval; }`,
      ];
    case 'deleteMap':
      return [`delete map ${TABLE} ${name(op.name)}`];
    case 'addMapElements':
      return elementLines(
        'add',
        op.map,
        op.entries.map(([k, v]) => `${renderElement(op.keyType, k)} : ${v}`),
      );
    case 'deleteMapElements':
      return elementLines(
        'delete',
        op.map,
        op.keys.map((k) => renderElement(op.keyType, k)),
      );
    case 'deleteObject':
      return [`delete ${op.objectKind} ${TABLE} ${name(op.name)}`];
  }
}

/** A whole transaction as an `nft -f` script (one operation per line, newline-terminated). */
export function renderTransaction(ops: readonly NftOp[]): string {
  return ops.flatMap(renderOp).join('\n') + (ops.length > 0 ? '\n' : '');
}

/**
 * The script that creates `spec` from nothing: what NftTable's first apply sends when the kernel has no
 * `table inet calico` (sets and maps, then chains, then elements and rules). Fails with every issue of the spec.
 */
export function renderTable(spec: TableSpec): Result<string, FieldIssue[]> {
  const desired = compileTable(spec);
  if (!desired.ok) return err(desired.error);
  const plan = planTransaction(desired.value, emptyKernelState(), 'all');
  return ok(renderTransaction(transactionOps(plan)));
}
