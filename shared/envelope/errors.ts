/** Why a message cannot be an event; consumers dead-letter it at once with `reason` = problem. */

export type EnvelopeProblem = 'missing-attribute' | 'bad-attribute' | 'not-json' | 'unsupported-specversion' | 'bad-encoding' | 'too-deep';

/** A message that cannot be an event: it goes to the dead-letter topic with `reason` = problem. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly problem: EnvelopeProblem,
    message: string,
  ) {
    super(message);
  }
}
