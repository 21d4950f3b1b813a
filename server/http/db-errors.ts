// Turns the database layer's failures into what a client can act on: "come back in a second" (503 with
// Retry-After) when the pool is busy, the path to MySQL is down, or a Galera node refuses for now
// (isClusterRefusal: not Primary, a write set it could not replicate, a failed causal wait), "too slow" (504) for a timed-out
// statement. Other database errors stay unmapped and become a logged, bare 500.
import {
  GateRejectedError,
  OutcomeUnknownError,
  QueryTimeoutError,
  isClusterRefusal,
  isConnectionError,
  isLockConflict,
  isQueryInterrupted,
} from '../db/errors';
import { HttpError, unavailable } from './errors';

export function httpErrorForDb(error: unknown): HttpError | undefined {
  if (error instanceof GateRejectedError) {
    if (error.reason === 'queue_full') return unavailable('pool_queue_full', error.message, 1);
    if (error.reason === 'timeout') return unavailable('pool_timeout', error.message, 1);
    // Nobody reads this answer; 499 (nginx's "client closed request") keeps it apart in the HTTP metrics.
    if (error.reason === 'cancelled') return new HttpError(499, 'client_closed_request', error.message);
    return unavailable('shutting_down', 'This worker is shutting down.', 1);
  }
  if (error instanceof OutcomeUnknownError) {
    // No Retry-After: repeating a write that may have been applied is the client's decision.
    return new HttpError(
      504,
      'outcome_unknown',
      'The database did not confirm the write before its connection was lost or had to be closed; it may have been applied. Read the current state before retrying.',
    );
  }
  if (error instanceof QueryTimeoutError) {
    return new HttpError(504, 'query_timeout', error.message);
  }
  if (isLockConflict(error)) {
    return unavailable(
      'row_locked',
      'The row is locked by another transaction; nothing was changed. Retry shortly.',
      1,
    );
  }
  if (isQueryInterrupted(error)) {
    // Someone else's KILL QUERY (the worker's own are answered 499 or 503 shutting_down): the server
    // rolled the statement back; a write interrupted in its COMMIT is outcome_unknown above.
    return unavailable(
      'query_interrupted',
      'The database stopped the statement before it finished; nothing was changed. Retry shortly.',
      1,
    );
  }
  if (isConnectionError(error) || isClusterRefusal(error)) {
    return unavailable('database_unavailable', 'The database is not reachable through HAProxy right now.', 1);
  }
  return undefined;
}
