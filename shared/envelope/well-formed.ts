/**
 * Checks on an event's text that no later step can survive, made once while decoding so they are
 * poison at once, with the field named, instead of failing deep inside a sink as if transient:
 *
 * - Lone UTF-16 surrogates (`"\ud800"` in JSON, or in a push body's attributes) are not text: URI
 *   encoding throws URIError, Firestore answers `2 UNKNOWN`, BigQuery refuses the row.
 * - Nesting deeper than MAX_DATA_DEPTH: recursive readers (the schema reader, error messages that
 *   print a path) overflow the stack with RangeError. Event payloads are records of a few levels.
 *
 * The walk is iterative, so it cannot overflow on the input it is there to refuse.
 */

/** Deepest nesting of objects and arrays an event's data may have. */
export const MAX_DATA_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// replace() resets a global regex's lastIndex, so one instance serves every call.
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** True when `text` is well-formed UTF-16 (no lone surrogate), i.e. it can be encoded as UTF-8. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

export type DataProblem = { kind: 'bad-encoding' | 'too-deep'; field: string; message: string };

/**
 * The first problem of a parsed JSON value, or undefined. `field` is a path such as
 * `data.items[2].name` (`root` names the value).
 */
export function dataProblem(value: unknown, root = 'data'): DataProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isWellFormedText(v)) return { kind: 'bad-encoding', field: path, message: `${path} holds a lone UTF-16 surrogate (not encodable text)` };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DATA_DEPTH) return { kind: 'too-deep', field: path, message: `${path} nests deeper than ${MAX_DATA_DEPTH} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(v)) {
      if (!isWellFormedText(key))
        return { kind: 'bad-encoding', field: `${path}.${printable(key, 40)}`, message: `a key in ${path} holds a lone UTF-16 surrogate (not encodable text)` };
      // A well-formed key prints as itself: printable() only for the long ones (hot path: every key of every event).
      stack.push({ value: (v as Record<string, unknown>)[key], path: `${path}.${key.length > 40 ? printable(key, 40) : key}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/** `text` safe to print and to carry in an attribute: lone surrogates as U+FFFD, at most `max` characters. */
export function printable(text: string, max = 120): string {
  const clean = text.replace(LONE_SURROGATES, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
