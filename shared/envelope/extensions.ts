/**
 * CloudEvents extension attributes: context attributes beyond the core ones, set by a producer
 * (a tenant, a correlation id ...). In the Pub/Sub binding each is a `ce-<name>` message attribute
 * (https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md 3.1.3), so they
 * survive every hop that copies attributes: consumers read them as `event.extensions`, the warehouse
 * keeps them in its `extensions` JSON column.
 *
 * Names follow CloudEvents 1.0.2 "Attribute Naming Convention": lowercase ASCII letters and digits
 * only (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md#attribute-naming-convention).
 * Names the envelope itself carries are refused so an extension can never shadow them: the core
 * attributes, the tracing extension's (traceparent/tracestate have their own publish options and
 * checks) and the deprecated schemaversion.
 */
import { isWellFormedText } from './well-formed';

/** CloudEvents core context attributes (required and optional) and the names of `data`. */
export const CORE_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
  'id',
  'source',
  'specversion',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'data',
  'data_base64',
]);

/** Extension names the envelope manages itself. */
export const MANAGED_EXTENSION_NAMES: ReadonlySet<string> = new Set(['traceparent', 'tracestate', 'schemaversion']);

const EXTENSION_NAME = /^[a-z0-9]+$/;
/** Pub/Sub: attribute keys up to 256 bytes (`ce-` takes 3), values up to 1024 bytes (https://cloud.google.com/pubsub/quotas#resource_limits). */
export const MAX_EXTENSION_NAME_LENGTH = 253;
export const MAX_EXTENSION_VALUE_BYTES = 1024;
/** Pub/Sub allows 100 attributes a message; the envelope and the mesh's own take about a dozen. */
export const MAX_EXTENSIONS = 50;

export type Extensions = Record<string, string>;

/** Whether `name` may be a CloudEvents extension attribute (not whether it is reserved). */
export const isExtensionName = (name: string) => name.length <= MAX_EXTENSION_NAME_LENGTH && EXTENSION_NAME.test(name);

/** Whether `name` is taken by the envelope (core attributes, tracing, schemaversion). */
export const isReservedName = (name: string) => CORE_ATTRIBUTE_NAMES.has(name) || MANAGED_EXTENSION_NAMES.has(name);

/** The first problem of a producer's extensions as `{field, message}`, or undefined when they can travel. */
export function extensionsProblem(extensions: unknown): { field: string; message: string } | undefined {
  if (extensions === undefined) return undefined;
  if (extensions === null || typeof extensions !== 'object' || Array.isArray(extensions))
    return { field: 'extensions', message: 'extensions must be an object of name -> string' };
  const entries = Object.entries(extensions);
  if (entries.length > MAX_EXTENSIONS) return { field: 'extensions', message: `${entries.length} extensions; at most ${MAX_EXTENSIONS} fit a Pub/Sub message` };
  for (const [name, value] of entries) {
    const field = `extensions.${name.slice(0, 40)}`;
    if (!isExtensionName(name))
      return { field, message: `extension name "${name.slice(0, 40)}" must be lowercase letters a-z and digits 0-9 only (CloudEvents attribute naming)` };
    if (isReservedName(name)) return { field, message: `extension name "${name}" is a CloudEvents core or mesh-managed attribute; choose another name` };
    if (typeof value !== 'string') return { field, message: `extension ${name} must be a string, got ${value === null ? 'null' : typeof value}` };
    if (!isWellFormedText(value)) return { field, message: `extension ${name} holds a lone UTF-16 surrogate (not encodable text)` };
    if (Buffer.byteLength(value) > MAX_EXTENSION_VALUE_BYTES)
      return { field, message: `extension ${name} is ${Buffer.byteLength(value)} bytes; Pub/Sub attribute values hold at most ${MAX_EXTENSION_VALUE_BYTES}` };
  }
  return undefined;
}
