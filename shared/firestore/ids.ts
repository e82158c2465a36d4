/**
 * The one rule that turns a value (an event id, a consumer name, an order, user or post id) into a
 * Firestore document id, its inverse, and the one hash that spreads values over documents. The
 * processor and the dashboard both write with these, so the same value is the same document for both.
 *
 * Firestore's constraints on document ids
 * (https://firebase.google.com/docs/firestore/quotas#collections_documents_and_fields): valid UTF-8,
 * at most 1,500 bytes, no forward slash, not solely `.` or `..`, not matching `__.*__`.
 *
 * The rule: a value that is a valid id as it is and holds no `%` is its own id; any other value is
 * percent-encoded (encodeURIComponent, plus `.` -> `%2E` for `.`/`..` and a leading `_` -> `%5F` for
 * `__x__`). Every encoded id holds a `%` and no kept one does, so the rule is one-to-one and
 * fromDocId reverses it. Only what cannot be an id even encoded (empty, over 1,500 bytes, or not valid
 * UTF-16/UTF-8) is refused, as PoisonError reason `bad-id`: the event goes to the dead-letter topic.
 *
 * Ids written before this rule: the processor kept valid ids as they were and refused the others
 * (the same ids now, except values holding `%`, now encoded); the dashboard percent-encoded
 * everything (the same ids for values that encodeURIComponent leaves alone or that hold `%` or `/`;
 * fromDocId reads every id it wrote back to the value).
 */
import { PoisonError } from '../consumer/errors';

/** Firestore's limit on a document id, in UTF-8 bytes. */
export const MAX_DOC_ID_BYTES = 1500;

const RESERVED = /^__.*__$/;
/** A lone UTF-16 surrogate: no UTF-8 for it, so no id (and no percent-encoding either). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when Firestore takes `id` as a document id as it is. */
export function isValidDocId(id: string): boolean {
  if (id === '' || id === '.' || id === '..' || id.includes('/') || RESERVED.test(id)) return false;
  return !LONE_SURROGATE.test(id) && Buffer.byteLength(id) <= MAX_DOC_ID_BYTES;
}

/**
 * The document id of `value` (see the rule above); `what` names the value in the PoisonError
 * (`bad-id`) thrown when even the encoded value cannot be an id.
 */
export function docId(value: string, what: string): string {
  if (isValidDocId(value) && !value.includes('%')) return value;
  let id = LONE_SURROGATE.test(value) ? '' : encodeURIComponent(value);
  if (id === '.' || id === '..') id = id.replace(/\./g, '%2E');
  else if (RESERVED.test(id)) id = `%5F${id.slice(1)}`;
  if (!isValidDocId(id)) throw new PoisonError(`${what} ${JSON.stringify(value.slice(0, 100))} cannot be a Firestore document id`, 'bad-id');
  return id;
}

/** The value a docId() id stands for. */
export function fromDocId(id: string): string {
  return id.includes('%') ? decodeURIComponent(id) : id;
}

/**
 * 32-bit FNV-1a (offset basis 0x811c9dc5, prime 0x01000193) over the UTF-16 code units of `text`, as
 * an unsigned integer: the same as FNV-1a over the bytes for ASCII text. Stable across processes and
 * releases: documents are chosen by it, so changing it would move data.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Which of `count` documents (0 .. count-1) `text` goes to: fnv1a32 mod count. */
export function shardOf(text: string, count: number): number {
  return fnv1a32(text) % count;
}
