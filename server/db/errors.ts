// Errors the database layer raises on purpose, so callers can tell "come back later" from "broken".
export { GateRejectedError } from './gate';

export class QueryTimeoutError extends Error {
  readonly code = 'QUERY_TIMEOUT';
  constructor(readonly query: string, readonly timeoutMs: number) {
    super(`Query "${query}" did not finish within ${timeoutMs} ms; its connection was closed.`);
    this.name = 'QueryTimeoutError';
  }
}

interface DriverError {
  code?: unknown;
  fatal?: unknown;
}

/** Codes that mean "the path to the database is broken", not "the statement was wrong". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_ACCESS_DENIED_ERROR', 'ER_QUERY_INTERRUPTED',
  'HANDSHAKE_NO_SSL_SUPPORT',
]);

export function driverErrorCode(error: unknown): string {
  const code = (error as DriverError | undefined)?.code;
  // MySQL's codes (ER_*) and the driver's/OS's form a fixed vocabulary; anything else is folded so
  // the `code` metric label stays bounded.
  if (typeof code === 'string' && /^(ER_[A-Z0-9_]+|PROTOCOL_[A-Z_]+|E[A-Z]+|QUERY_TIMEOUT|HANDSHAKE_[A-Z_]+)$/.test(code)) {
    return code;
  }
  return 'other';
}

/** True when the error says the connection (or the proxy or server behind it) is gone. */
export function isConnectionError(error: unknown): boolean {
  const e = error as DriverError | undefined;
  if (e?.fatal === true) return true;
  return typeof e?.code === 'string' && CONNECTION_CODES.has(e.code);
}
