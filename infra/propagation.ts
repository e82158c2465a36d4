/**
 * Deliberate waits for GCP's eventual consistency, as a Pulumi dynamic resource whose create sleeps
 * (@pulumi/time is not available here). Resources that must not be created before a change has
 * propagated depend on the wait, the wait depends on the change:
 *
 * - IAM: "Changes to allow or deny policies typically propagate in 2 minutes, but could potentially
 *   take 7 minutes or longer" (https://cloud.google.com/iam/docs/access-change-propagation). Pub/Sub
 *   checks the BigQuery table permission when a BigQuery subscription is created, so creating it right
 *   after the grant fails with 403 on a first `pulumi up`.
 * - API enablement (https://cloud.google.com/service-usage/docs/enable-disable): the enable operation
 *   finishes before every dependent service sees the API on; the first creates right after it can
 *   fail (e.g. the Pub/Sub service agent, the Firestore database).
 *
 * The wait runs only when the wait resource is created or replaced: a change of `triggers` (the
 * grants or APIs it covers) replaces it, so a later grant is waited for too; an unchanged stack
 * sleeps nowhere. The defaults cover the typical propagation, not the 7-minute tail: the services
 * retry what still fails (the warehouse waits for its tables, Pub/Sub retries deliveries).
 */
import * as pulumi from '@pulumi/pulumi';

/** After the Pub/Sub agent's table grants, before the BigQuery subscriptions. */
export const IAM_PROPAGATION_SECONDS = 90;
/** After the API enablements, before anything else. */
export const API_PROPAGATION_SECONDS = 60;

export interface PropagationWaitArgs {
  /** How long create sleeps. */
  seconds: number;
  /** What is waited for, for people reading the plan. */
  reason: string;
  /** What the wait covers; a change replaces the wait, so it runs again. */
  triggers: string[];
}

interface WaitInputs {
  seconds: number;
  reason: string;
  triggers: string[];
}

/**
 * The provider. Self-contained on purpose: Pulumi serializes it into the state, so it may use
 * globals (setTimeout) but nothing imported.
 */
export const propagationProvider: pulumi.dynamic.ResourceProvider<WaitInputs, WaitInputs> = {
  async create(inputs) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(inputs.seconds) || 0) * 1000));
    return { id: `wait-${Date.now()}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    const triggersChanged = !same(olds.triggers, news.triggers);
    return {
      changes: triggersChanged || !same(olds.seconds, news.seconds) || !same(olds.reason, news.reason),
      replaces: triggersChanged ? ['triggers'] : [],
      deleteBeforeReplace: false,
    };
  },
  // A new duration or reason waits for nothing: only new triggers do (by replacement).
  async update(_id, _olds, news) {
    return { outs: news };
  },
  async delete() {
    // Nothing to remove.
  },
};

/** Created after its dependencies and `seconds` later; depend on it to wait. */
export class PropagationWait extends pulumi.dynamic.Resource {
  declare readonly seconds: pulumi.Output<number>;
  declare readonly reason: pulumi.Output<string>;
  declare readonly triggers: pulumi.Output<string[]>;

  constructor(name: string, args: PropagationWaitArgs, opts?: pulumi.CustomResourceOptions) {
    super(propagationProvider, name, { seconds: args.seconds, reason: args.reason, triggers: args.triggers }, opts);
  }
}
