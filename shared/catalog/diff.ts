/**
 * What changed between two consecutive schema revisions, field by field (nested records by dotted
 * path): fields added or removed, a type, default or doc changed, a field marked `"deprecated": true`
 * (or unmarked). The catalog shows it as each topic's schema history.
 */
import { namedTypes, recordFields, typeLabel, type AvroField, type AvroObject } from './avro';

export type FieldChangeKind = 'added' | 'removed' | 'type' | 'default' | 'doc' | 'deprecated' | 'undeprecated';

export interface FieldChange {
  /** Dotted path of the field (`address.city` inside a nested record). */
  field: string;
  kind: FieldChangeKind;
  /** The old and new value of what changed, as text (a type label, a default as JSON, a doc). */
  before?: string;
  after?: string;
}

export interface RevisionDiff {
  from: string;
  to: string;
  changes: FieldChange[];
}

export interface NamedSchema {
  revision: string;
  schema: AvroObject;
}

/** Diffs of each revision against the one before it, oldest first. */
export function revisionHistory(revisions: NamedSchema[]): RevisionDiff[] {
  const diffs: RevisionDiff[] = [];
  for (let i = 1; i < revisions.length; i++) diffs.push(diffRevisions(revisions[i - 1], revisions[i]));
  return diffs;
}

export function diffRevisions(from: NamedSchema, to: NamedSchema): RevisionDiff {
  const changes: FieldChange[] = [];
  const namedFrom = namedTypes(from.schema);
  const namedTo = namedTypes(to.schema);
  const compare = (before: AvroField[], after: AvroField[], prefix: string, depth: number) => {
    const old = new Map(before.map((f) => [f.name, f]));
    const now = new Map(after.map((f) => [f.name, f]));
    for (const f of after) {
      const path = prefix + f.name;
      const o = old.get(f.name);
      if (!o) {
        changes.push({ field: path, kind: 'added', after: describeField(f, namedTo) });
        continue;
      }
      const typeBefore = typeLabel(o.type, namedFrom);
      const typeAfter = typeLabel(f.type, namedTo);
      const nestedBefore = recordFields(o.type, namedFrom);
      const nestedAfter = recordFields(f.type, namedTo);
      if (typeBefore !== typeAfter) changes.push({ field: path, kind: 'type', before: typeBefore, after: typeAfter });
      else if (depth < 6 && (nestedBefore.length || nestedAfter.length)) compare(nestedBefore, nestedAfter, `${path}.`, depth + 1);
      const defaultBefore = defaultText(o);
      const defaultAfter = defaultText(f);
      if (defaultBefore !== defaultAfter) changes.push({ field: path, kind: 'default', before: defaultBefore, after: defaultAfter });
      if ((o.doc ?? '') !== (f.doc ?? '')) changes.push({ field: path, kind: 'doc', before: o.doc ?? '', after: f.doc ?? '' });
      if (!isDeprecated(o) && isDeprecated(f)) changes.push({ field: path, kind: 'deprecated', after: f.doc });
      if (isDeprecated(o) && !isDeprecated(f)) changes.push({ field: path, kind: 'undeprecated' });
    }
    for (const o of before) if (!now.has(o.name)) changes.push({ field: prefix + o.name, kind: 'removed', before: describeField(o, namedFrom) });
  };
  compare(recordFields(from.schema, namedFrom), recordFields(to.schema, namedTo), '', 0);
  return { from: from.revision, to: to.revision, changes };
}

export const isDeprecated = (field: AvroField): boolean => field.deprecated === true;

/** `string, default ""` or `long` (no default). */
function describeField(field: AvroField, named: Map<string, AvroObject>): string {
  const label = typeLabel(field.type, named);
  const text = defaultText(field);
  return text === undefined ? label : `${label}, default ${text}`;
}

const defaultText = (field: AvroField): string | undefined => ('default' in field ? JSON.stringify(field.default) : undefined);
