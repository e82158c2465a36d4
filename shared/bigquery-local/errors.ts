/** Errors the local endpoint answers with, in BigQuery's shape: {error: {code, message, errors: [{reason}]}}. */

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  413: 'INVALID_ARGUMENT',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
};

export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly code: number,
    /** BigQuery's error reason: invalid, invalidQuery, notFound, duplicate, conditionNotMet ... */
    readonly reason: string,
    message: string,
    /** Where in the request, e.g. the query or a field name. */
    readonly location?: string,
  ) {
    super(message);
  }

  body(): unknown {
    const error: Record<string, unknown> = { message: this.message, domain: 'global', reason: this.reason };
    if (this.location) {
      error.location = this.location;
      error.locationType = 'other';
    }
    return { error: { code: this.code, message: this.message, errors: [error], status: STATUS[this.code] ?? 'UNKNOWN' } };
  }
}

export const notFound = (what: string) => new ApiFailure(404, 'notFound', `Not found: ${what}`);
export const alreadyExists = (what: string) => new ApiFailure(409, 'duplicate', `Already Exists: ${what}`);
export const invalid = (message: string) => new ApiFailure(400, 'invalid', message);
export const invalidQuery = (message: string) => new ApiFailure(400, 'invalidQuery', message, 'query');

/** A BigQuery feature the local endpoint does not have; the endpoint answers it as a 400 "unsupported locally: ...". */
export class UnsupportedLocallyError extends Error {
  override readonly name = 'UnsupportedLocallyError';
  constructor(detail: string) {
    super(`unsupported locally: ${detail}`);
  }
}
