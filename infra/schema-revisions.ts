/**
 * Makes every accepted Avro revision of a topic exist on its Pub/Sub schema, oldest first, and says
 * which revision id each one got. Plain logic behind an injected client so it can be unit tested; the
 * Pulumi side is infra/schema-revisions-resource.ts.
 *
 * Pub/Sub behaviour this relies on (Google's docs, read 2026-12, not run against GCP from here):
 * - projects.schemas.commit "Commits a new schema revision to an existing schema" and returns the
 *   schema with its new `revisionId` (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.schemas/commit).
 * - projects.schemas.listRevisions lists a schema's revisions with `revisionId`, `revisionCreateTime`
 *   and, with view FULL, the definition (https://cloud.google.com/pubsub/docs/list-schema-revisions).
 * - A schema keeps at most 20 revisions (https://cloud.google.com/pubsub/docs/commit-schema-revision);
 *   older ones must be deleted (projects.schemas.deleteRevision) before another commit.
 * - A topic's schemaSettings.firstRevisionId / lastRevisionId are inclusive bounds in revision
 *   creation order, so the spec's order must be the commit order
 *   (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics#SchemaSettings).
 */

export const MAX_REVISIONS_PER_SCHEMA = 20;

export interface CommittedRevision {
  revisionId: string;
  definition: string;
  /** Sortable text (see schemaRevisionClient); orders revisions, as the API promises no list order. */
  createTime: string;
}

/** The two Schema API calls this needs; SchemaServiceClient in production, a fake or the emulator in tests. */
export interface SchemaRevisionClient {
  listRevisions(schemaName: string): Promise<CommittedRevision[]>;
  commit(schemaName: string, definition: string): Promise<CommittedRevision>;
}

export interface WantedRevision {
  /** The spec's revision name: v1, v2 ... */
  name: string;
  definition: string;
}

/** Pub/Sub may reformat the .avsc it stores; compare the parsed JSON, not the text. */
export function sameDefinition(a: string, b: string): boolean {
  const canonical = (text: string) => {
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      return text.trim();
    }
  };
  return canonical(a) === canonical(b);
}

export class SchemaRevisionLimitError extends Error {}

/**
 * Commits the wanted revisions (oldest first) that the schema does not hold in that order yet and
 * returns revision name -> revision id. A revision already committed with the same definition, after
 * the previous wanted one, is reused, so a second run commits nothing. One committed out of order (a
 * stack that began at v2 and now also accepts v1) is committed again after its predecessor: the
 * topic's range is by commit time. Refuses, before committing, to go past Pub/Sub's 20 revisions.
 */
export async function ensureRevisions(client: SchemaRevisionClient, schemaName: string, wanted: WantedRevision[]): Promise<Record<string, string>> {
  const existing = (await client.listRevisions(schemaName)).sort((a, b) => a.createTime.localeCompare(b.createTime));
  // Plan first, commit after, so a refusal leaves the schema as it was.
  let after = '';
  const plan = wanted.map((w) => {
    const found = existing.find((r) => r.createTime > after && sameDefinition(r.definition, w.definition));
    after = found ? found.createTime : '\uffff'; // a commit is newer than anything listed
    return { w, found };
  });
  const commits = plan.filter((p) => !p.found).length;
  if (existing.length + commits > MAX_REVISIONS_PER_SCHEMA)
    throw new SchemaRevisionLimitError(
      `${schemaName}: ${existing.length} revisions + ${commits} to commit would exceed Pub/Sub's ${MAX_REVISIONS_PER_SCHEMA}; delete retired revisions first`,
    );
  const ids: Record<string, string> = {};
  for (const { w, found } of plan) ids[w.name] = (found ?? (await client.commit(schemaName, w.definition))).revisionId;
  return ids;
}

/** The structural slice of @google-cloud/pubsub's SchemaServiceClient used here. */
export interface SchemaServiceLike {
  listSchemaRevisions(request: {
    name: string;
    view: 'FULL';
  }): Promise<
    [{ revisionId?: string | null; definition?: string | null; revisionCreateTime?: { seconds?: unknown; nanos?: number | null } | null }[], ...unknown[]]
  >;
  commitSchema(request: {
    name: string;
    schema: { name: string; type: 'AVRO'; definition: string };
  }): Promise<
    [{ revisionId?: string | null; definition?: string | null; revisionCreateTime?: { seconds?: unknown; nanos?: number | null } | null }, ...unknown[]]
  >;
}

/** Adapts the real client (GCP or the emulator) to SchemaRevisionClient. */
export function schemaRevisionClient(client: SchemaServiceLike): SchemaRevisionClient {
  type Revision = Awaited<ReturnType<SchemaServiceLike['commitSchema']>>[0];
  const toCommitted = (r: Revision): CommittedRevision => ({
    revisionId: r.revisionId ?? '',
    definition: r.definition ?? '',
    // Sortable as text: zero-padded seconds, then nanos.
    createTime: `${String(r.revisionCreateTime?.seconds ?? 0).padStart(14, '0')}.${String(r.revisionCreateTime?.nanos ?? 0).padStart(9, '0')}`,
  });
  return {
    async listRevisions(name) {
      const [revisions] = await client.listSchemaRevisions({ name, view: 'FULL' });
      return revisions.map(toCommitted);
    },
    async commit(name, definition) {
      const [revision] = await client.commitSchema({ name, schema: { name, type: 'AVRO', definition } });
      return toCommitted(revision);
    },
  };
}
