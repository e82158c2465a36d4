/**
 * `<topic>-schema-revisions`: a Pulumi dynamic resource that keeps every accepted revision committed
 * on the topic's schema, in spec order, and outputs revision name -> revision id for the topic's
 * schemaSettings range. Needed because gcp.pubsub.Schema holds one `definition` (its newest revision)
 * and @pulumi/gcp has no resource for the revisions themselves (the Schema API's commit,
 * https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.schemas/commit).
 *
 * Delete does nothing: revisions go with the schema, and a retired revision is dropped by moving the
 * topic's firstRevisionId, not by deleting it (producers still writing it are refused by the range).
 */
import * as pulumi from '@pulumi/pulumi';
import { ensureRevisions, schemaRevisionClient, type WantedRevision } from './schema-revisions';

interface RevisionsInputs {
  /** projects/<project>/schemas/<schema> */
  schema: string;
  /** Accepted revisions, oldest first. */
  revisions: WantedRevision[];
}

interface RevisionsOutputs extends RevisionsInputs {
  revisionIds: Record<string, string>;
}

async function sync(inputs: RevisionsInputs): Promise<RevisionsOutputs> {
  // Loaded when the provider runs (Pulumi serializes the provider into the state).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const project = inputs.schema.split('/')[1];
  const client = schemaRevisionClient(await new PubSub({ projectId: project }).getSchemaClient());
  return { ...inputs, revisionIds: await ensureRevisions(client, inputs.schema, inputs.revisions) };
}

export const schemaRevisionsProvider: pulumi.dynamic.ResourceProvider<RevisionsInputs, RevisionsOutputs> = {
  async create(inputs) {
    return { id: `${inputs.schema}/revisions`, outs: await sync(inputs) };
  },
  async diff(_id, olds, news) {
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    return {
      changes: !same(olds.schema, news.schema) || !same(olds.revisions, news.revisions),
      // Another schema (a replaced one) starts its revisions from nothing.
      replaces: same(olds.schema, news.schema) ? [] : ['schema'],
      deleteBeforeReplace: false,
    };
  },
  async update(_id, _olds, news) {
    return { outs: await sync(news) };
  },
  async delete() {
    // Nothing: see the header.
  },
};

export interface SchemaRevisionsArgs {
  schema: pulumi.Input<string>;
  revisions: WantedRevision[];
}

export class SchemaRevisions extends pulumi.dynamic.Resource {
  declare readonly revisionIds: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: SchemaRevisionsArgs, opts?: pulumi.CustomResourceOptions) {
    super(schemaRevisionsProvider, name, { schema: args.schema, revisions: args.revisions, revisionIds: undefined }, opts);
  }
}
