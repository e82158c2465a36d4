/**
 * `mesh schema retire TOPIC REVISION`: producers may no longer send the topic's oldest accepted
 * revision. The spec's `accept.first` moves past it (infra then moves the topic's first revision id in
 * GCP); the .avsc stays, so events already written keep resolving. Refused while a consumer declares
 * the revision or the warehouse saw it published within the topic's deprecation window.
 */
import * as fs from 'node:fs';
import { isMap, parseDocument, stringify } from 'yaml';
import { UserError } from '../../shared/errors';
import type { MeshSpec } from '../../shared/spec';

/** Events of `revision` published to the topic since `since`, as the warehouse counts them. */
export type PublishedSince = (topic: string, revision: string, since: Date) => Promise<number>;

export interface RetireResult {
  first: string;
  last: string;
}

export async function retireRevision(
  spec: MeshSpec,
  topicName: string,
  revision: string,
  publishedSince: PublishedSince,
  now = new Date(),
): Promise<RetireResult> {
  const topic = spec.topics[topicName];
  if (!topic) throw new UserError(`unknown topic "${topicName}" (topics: ${Object.keys(spec.topics).join(', ')})`);
  const { revisions, accept } = topic.schema;
  if (!revisions.includes(revision)) throw new UserError(`topic ${topicName} has no revision ${revision}`);
  const first = revisions.indexOf(accept.first);
  const last = revisions.indexOf(accept.last);
  const at = revisions.indexOf(revision);
  if (at < first) throw new UserError(`${topicName} ${revision} is retired already (the topic accepts ${accept.first}..${accept.last})`);
  if (at !== first)
    throw new UserError(`only the oldest accepted revision can be retired (${accept.first}): the topic accepts a range, ${accept.first}..${accept.last}`);
  if (first === last) throw new UserError(`${revision} is the only revision ${topicName} accepts: add and roll out a newer one first`);
  const readers = Object.values(spec.consumers).filter((c) => c.topic === topicName && c.reads?.includes(revision));
  if (readers.length)
    throw new UserError(
      `${readers.map((c) => c.name).join(', ')} still declare${readers.length === 1 ? 's' : ''} ${revision} in reads: remove it from their reads first`,
    );
  const since = new Date(now.getTime() - topic.schema.deprecationWindowSeconds * 1000);
  const count = await publishedSince(topicName, revision, since);
  if (count > 0)
    throw new UserError(
      `the warehouse shows ${count} ${topicName} event${count === 1 ? '' : 's'} written with ${revision} published since ${since.toISOString()} (the deprecation window): a producer still sends it`,
    );
  const next = revisions[first + 1];
  fs.writeFileSync(spec.file, withAcceptRange(fs.readFileSync(spec.file, 'utf8'), topicName, { first: next, last: accept.last }));
  return { first: next, last: accept.last };
}

/**
 * The spec text with the topic's `schema.accept` set, everything else byte for byte: only the
 * `schema:` value is rewritten (the yaml library re-renders a whole document in its own style).
 */
export function withAcceptRange(text: string, topicName: string, range: { first: string; last: string }): string {
  const doc = parseDocument(text);
  const schema = doc.getIn(['topics', topicName, 'schema'], true);
  if (!isMap(schema) || !schema.range) throw new UserError(`${topicName}: no schema mapping found in the spec file`);
  const value = { ...(schema.toJSON() as Record<string, unknown>), accept: range };
  const [start, end] = schema.range;
  if (schema.flow) return `${text.slice(0, start)}${flowText(value)}${text.slice(end)}`;
  doc.setIn(['topics', topicName, 'schema', 'accept'], doc.createNode(range, { flow: true }));
  return doc.toString({ lineWidth: 0 });
}

/** A flow value as the spec writes them: { key: value } with [a, b] lists. */
function flowText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flowText).join(', ')}]`;
  if (value && typeof value === 'object')
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${flowText(v)}`)
      .join(', ')} }`;
  return stringify(value).trim();
}
