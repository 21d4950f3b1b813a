// Errors the database layer raises on purpose, so callers can tell "come back later" from "broken".
export { GateRejectedError } from './gate';

export class QueryTimeoutError extends Error {
  readonly code = 'QUERY_TIMEOUT';
  /**
   * @param stoppedByServer true when MySQL itself interrupted the statement (max_statement_time): the
   * connection is intact and goes back to the pool. False when the client-side backstop fired: the
   * connection is closed, since it may still be busy with the statement.
   */
  constructor(readonly query: string, readonly timeoutMs: number, readonly stoppedByServer = false) {
    super(`Query "${query}" did not finish within ${Math.round(timeoutMs)} ms; `
      + (stoppedByServer ? 'the database stopped it.' : 'its connection was closed.'));
    this.name = 'QueryTimeoutError';
  }
}

/**
 * A transaction whose COMMIT the database never confirmed: the connection broke, or had to be closed,
 * after the COMMIT was sent. The server may still have applied it, so the client must not be told it failed.
 */
export class OutcomeUnknownError extends Error {
  readonly code = 'OUTCOME_UNKNOWN';
  constructor(readonly query: string, cause: unknown) {
    super(`Write "${query}" was sent but not confirmed by the database; it may have been applied.`, { cause });
    this.name = 'OutcomeUnknownError';
  }
}

/** MariaDB's max_statement_time (1969) and MySQL's max_execution_time (3024) interruptions. */
export function isServerStatementTimeout(error: unknown): boolean {
  // By number: mysql2's table of MySQL error names has no name for MariaDB's 1969.
  const errno = (error as DriverError | undefined)?.errno;
  return errno === 1969 || errno === 3024;
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
}

/** Codes that mean "the path to the database is broken", not "the statement was wrong". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_ACCESS_DENIED_ERROR',
  'HANDSHAKE_NO_SSL_SUPPORT',
]);
// Not ER_QUERY_INTERRUPTED (1317): KILL QUERY ends the statement and leaves its connection open and
// usable (see isQueryInterrupted). Counting it as a broken link would close a good connection and send
// a cancelled read a second time.

export function driverErrorCode(error: unknown): string {
  const code = (error as DriverError | undefined)?.code;
  // MySQL's codes (ER_*) and the driver's/OS's form a fixed vocabulary; anything else is folded so
  // the `code` metric label stays bounded.
  if (typeof code === 'string' && /^(ER_[A-Z0-9_]+|PROTOCOL_[A-Z_]+|E[A-Z]+|QUERY_TIMEOUT|HANDSHAKE_[A-Z_]+)$/.test(code)) {
    return code;
  }
  // A server error mysql2 has no name for (MariaDB-only numbers such as 1969) keeps its number.
  const errno = (error as DriverError | undefined)?.errno;
  if (typeof errno === 'number' && Number.isInteger(errno) && errno > 0 && errno < 100_000) return `ERRNO_${errno}`;
  return 'other';
}

/** True when the error says the connection (or the proxy or server behind it) is gone. */
export function isConnectionError(error: unknown): boolean {
  const e = error as DriverError | undefined;
  if (e?.fatal === true) return true;
  return typeof e?.code === 'string' && CONNECTION_CODES.has(e.code);
}

/**
 * The statement was stopped by KILL QUERY (1317): the worker's own cancellation (client gone, backstop,
 * shutdown) or an operator's. The server rolled the statement back; its connection is fine.
 */
export function isQueryInterrupted(error: unknown): boolean {
  return (error as DriverError | undefined)?.errno === 1317;
}

/** InnoDB gave up waiting for a row lock (1205) or chose this transaction as a deadlock victim (1213). */
export function isLockConflict(error: unknown): boolean {
  const errno = (error as DriverError | undefined)?.errno;
  return errno === 1205 || errno === 1213;
}
