/**
 * Example payloads, generated from an Avro schema for one event type: the same schema and event
 * type always give the same example. Every field is present (Pub/Sub's JSON decoder wants them all)
 * and the example is valid for its revision:
 *  - a field with a default shows its default, unless its doc names this event type ("Who ships it
 *    (order.shipped only)"): then it gets a sample value, since that is the event it is filled for;
 *  - a field without a default gets a sample by its type and name: `orderId` -> "order-1",
 *    `amountCents` -> 2599, `durationMs` -> 1500, an enum its first symbol, a record its fields.
 */
import { namedTypes, recordFields, resolve, type AvroField, type AvroJson, type AvroObject } from './avro';

const MAX_DEPTH = 6;

/** The example payload for `eventType` written with `schema` (a record). */
export function examplePayload(schema: AvroObject, eventType: string): Record<string, unknown> {
  const named = namedTypes(schema);
  return recordExample(recordFields(schema, named), named, eventType, 0);
}

/** Whether a field's doc names the event type as a word ("for a view", "(order.cancelled only)"). */
export function docNamesType(doc: string | undefined, eventType: string): boolean {
  if (!doc) return false;
  const escaped = eventType.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w.])${escaped}(?!\\w|\\.\\w)`, 'i').test(doc);
}

function recordExample(fields: AvroField[], named: Map<string, AvroObject>, eventType: string, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const specific = docNamesType(field.doc, eventType);
    out[field.name] = 'default' in field && !specific ? field.default : sample(field.type, field.name, named, eventType, depth + 1);
  }
  return out;
}

function sample(schema: AvroJson, name: string, named: Map<string, AvroObject>, eventType: string, depth: number): unknown {
  const type = resolve(schema, named);
  if (Array.isArray(type)) {
    const branch = type.find((b) => b !== 'null') ?? 'null';
    return sample(branch, name, named, eventType, depth);
  }
  if (depth > MAX_DEPTH) return null;
  switch (type.type) {
    case 'null':
      return null;
    case 'boolean':
      return true;
    case 'int':
    case 'long':
      return integerSample(name, type.logicalType);
    case 'float':
    case 'double':
      return 1.5;
    case 'bytes':
    case 'fixed':
      return '';
    case 'string':
      return stringSample(name, type.logicalType);
    case 'enum':
      return type.default ?? type.symbols?.[0] ?? '';
    case 'array':
      return [sample(type.items ?? 'null', singular(name), named, eventType, depth + 1)];
    case 'map':
      return { key: sample(type.values ?? 'null', name, named, eventType, depth + 1) };
    case 'record':
    case 'error':
      return recordExample(type.fields ?? [], named, eventType, depth);
    default:
      return null;
  }
}

function integerSample(name: string, logicalType?: string): number {
  if (logicalType === 'timestamp-millis') return Date.UTC(2026, 0, 15, 9, 30);
  if (logicalType === 'timestamp-micros') return Date.UTC(2026, 0, 15, 9, 30) * 1000;
  if (logicalType === 'date') return 20468; // 2026-01-15
  if (/cents$/i.test(name)) return 2599;
  if (/ms$/i.test(name)) return 1500;
  if (/(count|quantity)$/i.test(name)) return 2;
  return 1;
}

function stringSample(name: string, logicalType?: string): string {
  if (logicalType === 'uuid') return '01890a5d-ac96-774b-bcce-b302099a8057';
  const id = /^(.+?)_?id$/i.exec(name);
  if (id && id[1]) return `${kebab(id[1])}-1`;
  if (/time$|at$/i.test(name)) return '2026-01-15T09:30:00Z';
  return `example-${kebab(name)}`;
}

const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const singular = (name: string) => name.replace(/s$/, '');
