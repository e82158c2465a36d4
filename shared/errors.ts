/**
 * The one kind of error a person can fix without reading code: bad input, a missing prerequisite, a
 * conflict with what exists. The CLI prints it as one line (where, message, hint) and no stack; any
 * other error is a bug and prints its stack. Subclasses name the case (PortTakenError ...).
 */
export interface UserErrorOptions {
  /** Where the problem is: a spec location (`mesh.yaml:12:3 consumers.x`), an option (`--rate`), a file or URL. */
  where?: string;
  /** What to do about it, e.g. "start the local mesh with `npm start`". */
  hint?: string;
  /** The lower-level error, kept for logs and debugging (not printed by the CLI). */
  cause?: unknown;
}

export class UserError extends Error {
  override readonly name: string = 'UserError';
  readonly where?: string;
  readonly hint?: string;

  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.where = options.where;
    this.hint = options.hint;
  }

  /** `where: message (hint)`, the line the CLI prints. */
  format(): string {
    return `${this.where ? `${this.where}: ` : ''}${this.message}${this.hint ? `; ${this.hint}` : ''}`;
  }
}

export const isUserError = (error: unknown): error is UserError => error instanceof UserError;
