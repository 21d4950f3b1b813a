// Operational errors: the ones whose message is safe to show a client. Anything else thrown inside a
// request becomes a bare 500 (see error-middleware.ts), so stack traces and SQL never leave the process.

export class HttpError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    /** A short machine-readable code, e.g. `invalid_parameter`. */
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badRequest(message: string, details: Record<string, unknown> = {}): HttpError {
  return new HttpError(400, 'bad_request', message, {}, details);
}

export function notFound(message: string): HttpError {
  return new HttpError(404, 'not_found', message);
}

/** 503 with Retry-After: the client should come back, nothing is wrong with its request. */
export function unavailable(code: string, message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(503, code, message, { 'Retry-After': String(retryAfterSeconds) });
}
