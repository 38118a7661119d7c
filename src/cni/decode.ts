/**
 * Bounds on what a plugin reads from its caller before decoding it (issue 9): the network configuration on
 * stdin is at most MAX_CONFIG_BYTES, and its JSON nests at most MAX_JSON_DEPTH levels of arrays and objects.
 * Both answer with a CNI error object, code 6 ("failed to decode content"), never a crash.
 *
 * Why these numbers: a real configuration is a few KiB and nests fewer than 10 levels (GC's
 * `cni.dev/valid-attachments` for 10,000 pods is about 1 MiB). Go's JSON decoder, which Calico's plugin
 * uses, stops at 10,000 levels; Node's `JSON.parse` has no limit, but the plugin later serialises the
 * configuration (to its IPAM plugin, recursively), which overflows the stack at a few thousand levels. So
 * the depth is checked by a linear scan before anything recursive sees the text. Pure.
 */
import { err, ok, type Result } from '../lib/result.js';
import { CniCode, CniError } from './spec.js';

/** The largest network configuration a plugin reads from stdin (and the agent's socket carries). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** The deepest nesting of JSON arrays and objects a network configuration may have. */
export const MAX_JSON_DEPTH = 128;

const DECODE_FAILED = 'failed to decode network configuration';

export function configTooLarge(): CniError {
  return new CniError(CniCode.decodingFailure, DECODE_FAILED, `more than ${MAX_CONFIG_BYTES} bytes`);
}

/**
 * Where `text`'s JSON nesting first goes deeper than `max`, as a message; undefined when it does not. Only
 * brackets outside strings count (malformed JSON is left to the parser).
 */
export function nestingProblem(text: string, max: number = MAX_JSON_DEPTH): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) return `JSON nested deeper than ${max} levels (at character ${i})`;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** Parses a network configuration's JSON within the bounds above (code 6 otherwise). */
export function decodeConfigJson(text: string): Result<unknown, CniError> {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) return err(configTooLarge());
  const deep = nestingProblem(text);
  if (deep !== undefined) return err(new CniError(CniCode.decodingFailure, DECODE_FAILED, deep));
  try {
    return ok(JSON.parse(text));
  } catch (e) {
    return err(new CniError(CniCode.decodingFailure, DECODE_FAILED, String(e)));
  }
}
