/**
 * Compatibility modes, as schema registries define them (Confluent's names), checked with Avro's own
 * resolution rules (avsc createResolver):
 * - BACKWARD: a reader on the new revision reads events written with the previous one;
 * - FORWARD: a reader on the previous revision reads events written with the new one;
 * - FULL: both; the _TRANSITIVE forms check against every older revision, not only the previous.
 * The consumer runtime reads every writer's revision as the topic's newest, so BACKWARD (transitive)
 * is what today's consumers need; FORWARD is what lets consumers lag behind producers.
 */
import * as avro from 'avsc';
import type { CompatibilityMode } from '../spec/types';
import type { GovernanceIssue } from './issues';

/** The revisions a check needs: name and compiled type, oldest first. */
export interface TypedRevision {
  name: string;
  type: avro.Type;
}

/** Which directions `mode` requires between `newer` and each older revision it is checked against. */
function directions(mode: CompatibilityMode): { backward: boolean; forward: boolean; transitive: boolean } {
  return {
    backward: mode.startsWith('BACKWARD') || mode.startsWith('FULL'),
    forward: mode.startsWith('FORWARD') || mode.startsWith('FULL'),
    transitive: mode.endsWith('_TRANSITIVE'),
  };
}

/** Every way the topic's revisions break its mode, one issue per field and direction. */
export function compatibilityIssues(topic: string, revisions: TypedRevision[], mode: CompatibilityMode): GovernanceIssue[] {
  if (mode === 'NONE') return [];
  const { backward, forward, transitive } = directions(mode);
  const issues: GovernanceIssue[] = [];
  for (let i = 1; i < revisions.length; i++) {
    const newer = revisions[i];
    for (const older of transitive ? revisions.slice(0, i) : [revisions[i - 1]]) {
      const pairs: [TypedRevision, TypedRevision, string][] = [];
      if (backward) pairs.push([newer, older, 'BACKWARD']);
      if (forward) pairs.push([older, newer, 'FORWARD']);
      for (const [reader, writer, direction] of pairs) {
        if (resolves(reader.type, writer.type)) continue;
        const causes = fieldCauses(reader.type, writer.type, [], reader.name, writer.name);
        const intro = `${mode}: readers of ${reader.name} cannot read events written with ${writer.name} (${direction})`;
        if (!causes.length) issues.push({ rule: 'compatibility', topic, revision: newer.name, message: intro });
        for (const cause of causes)
          issues.push({ rule: 'compatibility', topic, revision: newer.name, field: cause.field, message: `${intro}: ${cause.message}` });
      }
    }
  }
  return issues;
}

/**
 * Why a reader type cannot read a writer type, field by field (Avro's resolution rules: a reader's
 * field the writer lacks needs a default in the reader; a field both have keeps a promotable type).
 */
function fieldCauses(reader: avro.Type, writer: avro.Type, at: string[], readerName: string, writerName: string): { field: string; message: string }[] {
  if (!(reader instanceof avro.types.RecordType) || !(writer instanceof avro.types.RecordType)) return [];
  const causes: { field: string; message: string }[] = [];
  const writerFields = new Map(writer.fields.map((f) => [f.name, f]));
  for (const f of reader.fields) {
    const field = [...at, f.name].join('.');
    const written = writerFields.get(f.name);
    if (!written) {
      if (f.defaultValue() === undefined)
        causes.push({ field, message: `${readerName} has it without a default and ${writerName} events lack it (give it a default)` });
      continue;
    }
    const nested = fieldCauses(f.type, written.type, [...at, f.name], readerName, writerName);
    if (nested.length) causes.push(...nested);
    else if (!resolves(f.type, written.type))
      causes.push({ field, message: `its type changed: ${readerName} reads ${f.type.typeName}, ${writerName} writes ${written.type.typeName}` });
  }
  return causes;
}

export function resolves(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}
