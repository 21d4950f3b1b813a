import { expect } from 'chai';
import { isLockConflict, withStatement } from '../../../server/db/errors';
import { httpErrorForDb } from '../../../server/http/db-errors';

/** A server error as mysql2 raises it, answering `sql` when given (as the db layer records it). */
function serverError(errno: number, code: string, message: string, sql?: string): Error {
  const error = Object.assign(new Error(message), { code, errno, sqlState: 'HY000' });
  return sql === undefined ? error : withStatement(error, sql);
}

const LOCK_WAIT = 'Lock wait timeout exceeded; try restarting transaction';

describe('httpErrorForDb(error)', () => {
  function expectUnavailable(error: Error, code: string): void {
    const answer = httpErrorForDb(error);
    expect(answer?.status).to.equal(503);
    expect(answer?.code).to.equal(code);
    expect(answer?.headers).to.deep.include({ 'Retry-After': '1' });
  }

  it('answers a Galera node that refuses statements (1047) 503 database_unavailable with Retry-After, not a 500', () => {
    expectUnavailable(
      serverError(1047, 'ER_UNKNOWN_COM_ERROR', 'WSREP has not yet prepared node for application use'),
      'database_unavailable',
    );
  });

  it('answers a write set Galera could not replicate (1180, "streaming replication fragment") 503 database_unavailable', () => {
    expectUnavailable(
      serverError(
        1180,
        'ER_ERROR_DURING_COMMIT',
        'Error while appending streaming replication fragment(provider status: error_connection_failed)',
        'COMMIT',
      ),
      'database_unavailable',
    );
  });

  it('answers a failed causal wait (1205 on a plain SELECT) 503 database_unavailable, not row_locked', () => {
    expectUnavailable(
      serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', LOCK_WAIT, 'SELECT id, item FROM todos WHERE id = ?'),
      'database_unavailable',
    );
  });

  it('answers a failed causal wait of a SELECT with per-statement settings 503 database_unavailable', () => {
    expectUnavailable(
      serverError(
        1205,
        'ER_LOCK_WAIT_TIMEOUT',
        LOCK_WAIT,
        'SET STATEMENT max_statement_time=5 FOR SELECT id FROM todos',
      ),
      'database_unavailable',
    );
  });

  it('answers a failed causal wait on START TRANSACTION 503 database_unavailable', () => {
    expectUnavailable(
      serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', LOCK_WAIT, 'START TRANSACTION'),
      'database_unavailable',
    );
  });

  for (const sql of [
    'UPDATE todos SET item = ? WHERE id = ?',
    'SELECT id FROM todos WHERE id = ? FOR UPDATE',
    'SELECT 1 FROM idempotency_keys WHERE k = ? LOCK IN SHARE MODE',
    "INSERT INTO todos (item) VALUES ('x')",
    'SET STATEMENT innodb_lock_wait_timeout=0 FOR INSERT INTO idempotency_keys (idempotency_key) VALUES (?)',
    '\n      UPDATE todos SET item = ? WHERE id = ?',
  ]) {
    it(`answers a lock wait timeout of "${sql.trim().slice(0, 50)}..." 503 row_locked`, () => {
      expectUnavailable(serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', LOCK_WAIT, sql), 'row_locked');
    });
  }

  it('answers a lock wait timeout of an unknown statement 503 row_locked', () => {
    expectUnavailable(serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', LOCK_WAIT), 'row_locked');
  });

  it('answers a deadlock or Galera conflict (1213) 503 row_locked, whatever the statement', () => {
    expectUnavailable(
      serverError(
        1213,
        'ER_LOCK_DEADLOCK',
        'Deadlock found when trying to get lock; try restarting transaction',
        'COMMIT',
      ),
      'row_locked',
    );
  });

  it('leaves an unknown SQL error unmapped (a logged 500)', () => {
    expect(httpErrorForDb(serverError(1064, 'ER_PARSE_ERROR', 'syntax'))).to.equal(undefined);
  });

  it('leaves a denied table (1142) unmapped: a missing grant is a fault to see, not to retry', () => {
    expect(
      httpErrorForDb(
        serverError(
          1142,
          'ER_TABLEACCESS_DENIED_ERROR',
          'INSERT command denied',
          'INSERT INTO todos (item) VALUES (?)',
        ),
      ),
    ).to.equal(undefined);
  });
});

describe('isLockConflict(error)', () => {
  it('is false for a failed causal wait, so a key is never reported in use for it', () => {
    expect(
      isLockConflict(
        serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', LOCK_WAIT, 'SELECT k FROM idempotency_keys WHERE k = ?'),
      ),
    ).to.equal(false);
  });
});

describe('withStatement(error, sql)', () => {
  it('keeps the statement out of what a logger prints', () => {
    const error = serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', LOCK_WAIT, "SELECT 'secret'");
    expect(JSON.stringify(error)).to.not.include('secret');
    expect(Object.keys(error)).to.not.include('statement');
  });
});
