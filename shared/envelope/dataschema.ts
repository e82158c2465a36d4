/**
 * Which schema revision an event's data was written with, as CloudEvents says it: the `dataschema`
 * attribute (`ce-dataschema` in the Pub/Sub binding), a URI. The mesh's form names the topic and the
 * revision:
 *
 *   urn:event-mesh:schema:<topic>:<revision>        e.g. urn:event-mesh:schema:orders:v2
 *
 * Why a URN and not a URL: no schema registry is served over HTTP, and a URL would suggest one; the
 * revision files live in the repository (schemas/<topic>/<revision>.avsc) and in Pub/Sub's schema
 * resource, whose revision ids are hashes that differ per project. Topic names cannot hold `:` (spec:
 * letters, digits and `._~+%-`), so the last `:` separates the revision. Naming the topic lets a
 * consumer refuse data written for another topic's schema (a producer publishing to the wrong topic).
 *
 * Before this, the mesh carried the revision alone in the invented `ce-schemaversion`. Consumers
 * still accept it, alone or next to an agreeing `ce-dataschema`, for messages published up to
 * SCHEMAVERSION_ACCEPTED_UNTIL (docs/producers.md "Deprecated: ce-schemaversion"); the publisher
 * writes only `ce-dataschema`.
 */
import { EnvelopeError } from './errors';
import { printable } from './well-formed';

export const DATASCHEMA_PREFIX = 'urn:event-mesh:schema:';

/**
 * The last day (UTC, inclusive) a message carrying only `ce-schemaversion` is accepted, judged by its
 * publish time (so every consumer and every redelivery of one message reach the same verdict).
 */
export const SCHEMAVERSION_ACCEPTED_UNTIL = '2027-06-30';
const SCHEMAVERSION_END_MS = Date.parse(`${SCHEMAVERSION_ACCEPTED_UNTIL}T00:00:00Z`) + 24 * 3600 * 1000;

// Topic: the spec's resource id (3..255 of letters, digits, ._~+%- starting with a letter); revision: v1, v2 ...
const DATASCHEMA = /^urn:event-mesh:schema:([A-Za-z][A-Za-z0-9._~+%-]{2,254}):(v\d+)$/;

export interface DataSchemaRef {
  topic: string;
  revision: string;
}

/** The dataschema URI of a topic's revision. */
export function dataSchemaUri(topic: string, revision: string): string {
  return `${DATASCHEMA_PREFIX}${topic}:${revision}`;
}

/** Topic and revision of a mesh dataschema URI, or undefined when it is not one. */
export function parseDataSchema(uri: string): DataSchemaRef | undefined {
  const match = DATASCHEMA.exec(uri);
  return match ? { topic: match[1], revision: match[2] } : undefined;
}

/** The deprecated attribute's name (read only; nothing writes it any more). */
export const LEGACY_SCHEMAVERSION_ATTRIBUTE = 'ce-schemaversion';

/**
 * The revision a message says its data was written with, from `ce-dataschema` and the deprecated
 * `ce-schemaversion`: undefined when it says none (consumers read with the topic's current revision).
 * Throws EnvelopeError 'bad-attribute' for an unparsable dataschema, two attributes that disagree, or
 * `ce-schemaversion` alone on a message published after the deprecation window.
 */
export function schemaRevisionOf(
  dataschema: string | undefined,
  schemaversion: string | undefined,
  publishTimeMs: number | undefined,
  nowMs = Date.now(),
): { ref?: DataSchemaRef; revision?: string } {
  if (dataschema !== undefined) {
    const ref = parseDataSchema(dataschema);
    if (!ref)
      throw new EnvelopeError(
        'bad-attribute',
        `ce-dataschema "${printable(dataschema)}" is not a mesh schema URI (${DATASCHEMA_PREFIX}<topic>:<revision>, e.g. ${dataSchemaUri('orders', 'v2')})`,
      );
    if (schemaversion !== undefined && schemaversion !== ref.revision)
      throw new EnvelopeError(
        'bad-attribute',
        `ce-dataschema names revision ${ref.revision} but the deprecated ce-schemaversion says "${printable(schemaversion)}"`,
      );
    return { ref, revision: ref.revision };
  }
  if (schemaversion === undefined || schemaversion === '') return {};
  if ((publishTimeMs ?? nowMs) >= SCHEMAVERSION_END_MS)
    throw new EnvelopeError(
      'bad-attribute',
      `ce-schemaversion alone was accepted until ${SCHEMAVERSION_ACCEPTED_UNTIL}; send ce-dataschema (${DATASCHEMA_PREFIX}<topic>:${printable(schemaversion, 20)}) instead`,
    );
  return { revision: schemaversion };
}
