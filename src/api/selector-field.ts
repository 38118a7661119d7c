/**
 * Decoders for selector-valued fields: the text must parse, be at most 1024 characters, and may use
 * `global()` only where Calico allows it (alone, in an EntityRule's namespaceSelector).
 */
import { type Decoder, show, str, withSchema } from './decoder.js';
import { parseSelector } from './selector/index.js';

export const MAX_SELECTOR_LENGTH = 1024;

/** Where a selector appears: `namespaceEntity` is EntityRule.namespaceSelector, the one place for `global()`. */
export type SelectorPlace = 'plain' | 'namespaceEntity';

export function selectorField(place: SelectorPlace = 'plain'): Decoder<string> {
  return withSchema({ type: 'string', maxLength: MAX_SELECTOR_LENGTH }, (v, path, issues) => {
    const text = str(v, path, issues);
    if (text === undefined) return undefined;
    if (text.length > MAX_SELECTOR_LENGTH) {
      issues.add(
        path,
        `selector ${show(text)} is too long (${text.length} > ${MAX_SELECTOR_LENGTH} characters)`,
      );
      return undefined;
    }
    if (text.trim() === '') return text;
    const parsed = parseSelector(text);
    if (!parsed.ok) {
      issues.add(path, `invalid selector ${show(text)}: ${parsed.error.message}`);
      return undefined;
    }
    if (parsed.value.usesGlobal) {
      if (place !== 'namespaceEntity') {
        issues.add(
          path,
          `invalid selector ${show(text)}: global() can only be used in an EntityRule namespaceSelector`,
        );
        return undefined;
      }
      if (text.trim() !== 'global()' && parsed.value.canonical !== 'global()') {
        issues.add(path, `invalid selector ${show(text)}: global() cannot be combined with other selectors`);
        return undefined;
      }
    }
    return text;
  });
}
