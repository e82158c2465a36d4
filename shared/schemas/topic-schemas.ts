/**
 * A topic's Avro schema revisions, kept side by side as <dir>/<revision>.avsc, validated with avsc.
 *
 * Producers write natural JSON: our schemas use no unions (Avro's JSON encoding would wrap union
 * values as {"string": "x"}), and optional fields carry defaults. Pub/Sub's JSON decoder still
 * wants every field present, so the publisher fills defaults in before sending; a raw-client
 * producer must send every field itself (see docs/producers.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import type { TopicSpec } from '../spec/types';
import { compatibilityIssues } from '../governance/compatibility';

export interface SchemaRevision {
  /** v1, v2 ... */
  name: string;
  file: string;
  /** The .avsc text, as sent to Pub/Sub. */
  definition: string;
  type: avro.Type;
  /** Top-level field names, and whether every field is a primitive (no nested records to fill). */
  fieldNames: string[];
  flat: boolean;
}

/** A payload that does not match its schema revision; `field` is the dotted path of the first bad field. */
export class SchemaValidationError extends Error {
  override readonly name = 'SchemaValidationError';
  constructor(
    readonly topic: string,
    readonly revision: string,
    readonly field: string,
    readonly problems: string[],
  ) {
    super(`${topic} ${revision}: ${problems.join('; ')}`);
  }
}

/** A revision file that is missing, is not Avro, or does not resolve both ways with the others. */
export class SchemaDefinitionError extends Error {
  override readonly name = 'SchemaDefinitionError';
  constructor(
    readonly topic: string,
    readonly revision: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class TopicSchemas {
  private constructor(
    readonly topic: string,
    /** Oldest first. */
    readonly revisions: SchemaRevision[],
    readonly accepted: SchemaRevision[],
  ) {}

  /** Loads every revision and checks them against the topic's compatibility mode (FULL_TRANSITIVE unless the spec says otherwise). */
  static load(topic: Pick<TopicSpec, 'name' | 'schema'>): TopicSchemas {
    const revisions = topic.schema.revisions.map((name) => readRevision(topic.name, topic.schema.dir, name));
    const mode = topic.schema.compatibility ?? 'FULL_TRANSITIVE';
    const [broken] = compatibilityIssues(topic.name, revisions, mode);
    if (broken) throw new SchemaDefinitionError(topic.name, broken.revision, `${broken.revision}: ${broken.field ? `field "${broken.field}": ` : ''}${broken.message}`);
    const first = revisions.findIndex((r) => r.name === topic.schema.accept.first);
    const last = revisions.findIndex((r) => r.name === topic.schema.accept.last);
    if (first < 0 || last < 0 || first > last) {
      throw new SchemaDefinitionError(topic.name, undefined, `accept range ${topic.schema.accept.first}..${topic.schema.accept.last} is not an ordered range of the listed revisions`);
    }
    return new TopicSchemas(topic.name, revisions, revisions.slice(first, last + 1));
  }

  /** The revision producers write by default: the newest the topic accepts. */
  get current(): SchemaRevision {
    return this.accepted[this.accepted.length - 1];
  }

  revision(name: string): SchemaRevision {
    const found = this.accepted.find((r) => r.name === name);
    if (!found) {
      throw new SchemaValidationError(this.topic, name, 'ce-dataschema', [
        `revision ${name} is not accepted by topic ${this.topic} (accepts ${this.accepted.map((r) => r.name).join(', ')})`,
      ]);
    }
    return found;
  }

  /**
   * Checks a payload against a revision and returns it with defaults filled in, ready to send.
   * Unknown fields are refused: a renamed field should fail at the producer, not load as null.
   */
  normalize(data: unknown, revisionName = this.current.name): Record<string, unknown> {
    const revision = this.revision(revisionName);
    // Hot path (publisher and every consumer): avsc's compiled check, then defaults only if needed.
    if (data !== null && typeof data === 'object' && !Array.isArray(data) && revision.type.isValid(data) && !hasUnknownFields(revision.type, data as Record<string, unknown>)) {
      return revision.flat && revision.fieldNames.every((f) => f in data) ? (data as Record<string, unknown>) : (revision.type.clone(data) as Record<string, unknown>);
    }
    const problems: string[] = [];
    let firstField = '';
    const note = (field: string, problem: string) => {
      if (!firstField) firstField = field || '(payload)';
      problems.push(field ? `field "${field}" ${problem}` : problem);
    };
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      note('', `payload must be a JSON object, got ${describe(data)}`);
    } else {
      collectUnknownFields(revision.type, data as Record<string, unknown>, [], note);
      revision.type.isValid(data, {
        errorHook: (pathParts: string[], value: unknown, type: avro.Type) => {
          const field = pathParts.join('.');
          if (value === undefined) note(field, `is required (${typeLabel(type)})`);
          else note(field, `must be ${typeLabel(type)}, got ${describe(value)}`);
        },
      });
    }
    throw new SchemaValidationError(this.topic, revision.name, firstField, problems);
  }

  /** Consumer side: validates against the writer's revision, then reads it as the current one. */
  read(data: unknown, writerRevision = this.current.name): Record<string, unknown> {
    const written = this.normalize(data, writerRevision);
    if (writerRevision === this.current.name) return written;
    return this.current.type.clone(stripUnknown(this.current.type, written)) as Record<string, unknown>;
  }
}

function readRevision(topic: string, dir: string, name: string): SchemaRevision {
  const file = path.join(dir, `${name}.avsc`);
  let definition: string;
  try {
    definition = fs.readFileSync(file, 'utf8');
  } catch {
    throw new SchemaDefinitionError(topic, name, `schema file ${file} does not exist`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition);
  } catch (error) {
    throw new SchemaDefinitionError(topic, name, `${file} is not JSON: ${(error as Error).message}`);
  }
  try {
    const type = avro.Type.forSchema(parsed as avro.Schema);
    if (type.typeName !== 'record') throw new Error('the top-level type must be a record');
    assertNoUnions(type, []);
    const fields = (type as avro.types.RecordType).fields;
    const flat = fields.every((f) => !(f.type instanceof avro.types.RecordType || f.type instanceof avro.types.ArrayType || f.type instanceof avro.types.MapType));
    return { name, file, definition, type, fieldNames: fields.map((f) => f.name), flat };
  } catch (error) {
    throw new SchemaDefinitionError(topic, name, `${file} is not a usable Avro schema: ${(error as Error).message}`);
  }
}

/** Unions would force producers into Avro's wrapped JSON ({"string": "x"}); defaults do the job instead. */
function assertNoUnions(type: avro.Type, at: string[]): void {
  if (type.typeName.includes('union')) throw new Error(`field "${at.join('.')}" is a union; use a default value instead so producers can send plain JSON`);
  if (type instanceof avro.types.RecordType) for (const f of type.fields) assertNoUnions(f.type, [...at, f.name]);
  if (type instanceof avro.types.ArrayType) assertNoUnions(type.itemsType, [...at, '[]']);
  if (type instanceof avro.types.MapType) assertNoUnions(type.valuesType, [...at, '{}']);
}

/** A record type's field name -> field type, built once per type (hasUnknownFields runs on every message). */
const fieldsByType = new WeakMap<avro.Type, Map<string, avro.Type>>();

function fieldTypes(type: avro.types.RecordType): Map<string, avro.Type> {
  let known = fieldsByType.get(type);
  if (!known) fieldsByType.set(type, (known = new Map(type.fields.map((f) => [f.name, f.type]))));
  return known;
}

function hasUnknownFields(type: avro.Type, value: Record<string, unknown>): boolean {
  if (!(type instanceof avro.types.RecordType)) return false;
  const known = fieldTypes(type);
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const fieldType = known.get(key);
    if (!fieldType) return true;
    if (fieldType instanceof avro.types.RecordType && value[key] && typeof value[key] === 'object' && hasUnknownFields(fieldType, value[key] as Record<string, unknown>)) return true;
  }
  return false;
}

function collectUnknownFields(type: avro.Type, value: Record<string, unknown>, at: string[], note: (field: string, problem: string) => void): void {
  if (!(type instanceof avro.types.RecordType)) return;
  const known = fieldTypes(type);
  for (const key of Object.keys(value)) {
    const fieldType = known.get(key);
    if (!fieldType) note([...at, key].join('.'), `is not in the schema (fields: ${[...known.keys()].join(', ')})`);
    else if (fieldType instanceof avro.types.RecordType && value[key] && typeof value[key] === 'object') {
      collectUnknownFields(fieldType, value[key] as Record<string, unknown>, [...at, key], note);
    }
  }
}

function stripUnknown(type: avro.Type, value: Record<string, unknown>): Record<string, unknown> {
  if (!(type instanceof avro.types.RecordType)) return value;
  const out: Record<string, unknown> = {};
  for (const f of type.fields) if (f.name in value) out[f.name] = value[f.name];
  return out;
}

function typeLabel(type: avro.Type): string {
  if (type instanceof avro.types.EnumType) return `one of ${type.symbols.join(', ')}`;
  return type.typeName === 'long' || type.typeName === 'int' ? `an integer (${type.typeName})` : `a ${type.typeName}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : `${typeof value} ${JSON.stringify(value)}`;
}
