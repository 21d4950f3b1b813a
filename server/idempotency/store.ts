// test.idempotency_keys: claims a key inside the transaction of the write it guards, stores that write's
// answer in the same transaction, and purges expired keys. Only this file knows the table's SQL.
//
// Why a key can never be written twice: its row is INSERTed (primary key) as the transaction's first
// write and committed with the todo change and the answer, or rolled back with them. A second request
// with the same key either sees the committed row (replay or mismatch), or meets the uncommitted one.
//
// Why "still running" is a 409 at once rather than a wait: each worker has one connection, and a
// statement waiting for another session's lock holds it. The claim runs with innodb_lock_wait_timeout=0
// (SET STATEMENT, MariaDB 10.3+): an INSERT that meets another transaction's uncommitted row of the same
// key fails at once with 1205 instead of blocking, and nothing has been written yet.
import type { Db, Transaction, WriteResult } from '../db/db';
import { isLockConflict } from '../db/errors';
import type { Answer } from '../http/answer';

/** An answer as stored and replayed: status, the headers that matter (Location, ETag), JSON body. */
export type StoredResponse = Answer;

export type KeyedWrite =
  /** This request ran the write; its answer is stored under the key. */
  | { kind: 'done'; response: StoredResponse }
  /** An earlier request with this key and fingerprint ran it: its answer, nothing written now. */
  | { kind: 'replayed'; response: StoredResponse }
  /** The key was used for a different request. */
  | { kind: 'mismatch' }
  /** Another transaction holds the key right now (its request is still running). */
  | { kind: 'in_use' };

/** The most expired rows one purge deletes: a short statement, whatever the backlog. */
export const PURGE_BATCH = 100;
/** A worker purges at most this often, unless the last purge found a full batch (a backlog). */
export const PURGE_INTERVAL_MS = 10_000;

const ER_DUP_ENTRY = 1062;
const NO_WAIT = 'SET STATEMENT innodb_lock_wait_timeout=0 FOR';
const STORED = `fingerprint, response_status, response_headers, response_body, expires_at <= NOW(3) AS expired
  FROM idempotency_keys WHERE idempotency_key = ?`;

interface StoredRow {
  fingerprint: string;
  response_status: number | null;
  response_headers: string | null;
  response_body: string | null;
  expired: number | string;
}

type Claim = Exclude<KeyedWrite, { kind: 'done' }> | { kind: 'claimed' };

// A comparison comes back as 0/1 (a number, or a string from some drivers' text protocol).
function isExpired(row: StoredRow): boolean {
  return Number(row.expired) === 1;
}

function errno(error: unknown): unknown {
  return (error as { errno?: unknown } | undefined)?.errno;
}

/** What a committed key row means for a request with `fingerprint`. */
function decide(row: StoredRow, fingerprint: string): Claim {
  // Unreachable once committed (the claiming transaction fills the answer first); never replay a hole.
  if (row.response_status === null) return { kind: 'in_use' };
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  return {
    kind: 'replayed',
    response: {
      status: row.response_status,
      headers: JSON.parse(row.response_headers ?? '{}') as Record<string, string>,
      body: row.response_body === null ? undefined : (JSON.parse(row.response_body) as unknown),
    },
  };
}

export class IdempotencyStore {
  private purging = false;
  private nextPurgeAt = 0;

  constructor(
    private readonly db: Db,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Runs `work` under `key` in one transaction named `name` (one query in the metrics): claims the key,
   * runs the write, stores its answer, commits. Or, when the key is already taken, writes nothing and
   * says why. Errors of `work` (or of the database) roll everything back, the key included, so the
   * client's retry with the same key runs the write afresh.
   */
  async run(
    name: string,
    key: string,
    fingerprint: string,
    work: (tx: Transaction) => Promise<StoredResponse>,
  ): Promise<KeyedWrite> {
    const outcome = await this.db.transaction<KeyedWrite>(name, async (tx) => {
      const claim = await this.claim(tx, key, fingerprint);
      if (claim.kind !== 'claimed') return claim;
      const response = await work(tx);
      await tx.query<WriteResult>(
        'UPDATE idempotency_keys SET response_status = ?, response_headers = ?, response_body = ? WHERE idempotency_key = ?',
        [
          response.status,
          JSON.stringify(response.headers),
          response.body === undefined ? null : JSON.stringify(response.body),
          key,
        ],
      );
      return { kind: 'done', response };
    });
    if (outcome.kind === 'done') this.purgeSoon();
    return outcome;
  }

  /**
   * Deletes up to PURGE_BATCH expired keys, oldest first, as one autocommit statement (its locks last
   * only that statement). It does not wait for rows another worker's purge is deleting (that purge
   * fails with 1205 and is simply skipped). Returns how many rows it deleted.
   */
  async purgeExpired(): Promise<number> {
    const result = await this.db.query<WriteResult>(
      'purge_idempotency_keys',
      `${NO_WAIT} DELETE FROM idempotency_keys WHERE expires_at <= NOW(3) ORDER BY expires_at LIMIT ${PURGE_BATCH}`,
    );
    return result.affectedRows;
  }

  /**
   * No cron: a write that stored a key starts a purge after it committed, unless one is already running
   * in this worker or the last one, less than PURGE_INTERVAL_MS ago, found no backlog. Not awaited, so
   * the answer does not wait for it; a failure only means the next write tries again.
   */
  private purgeSoon(): void {
    if (this.purging || performance.now() < this.nextPurgeAt) return;
    this.purging = true;
    this.purgeExpired()
      .then(
        (deleted) => {
          this.nextPurgeAt = deleted >= PURGE_BATCH ? 0 : performance.now() + PURGE_INTERVAL_MS;
        },
        () => {
          this.nextPurgeAt = performance.now() + PURGE_INTERVAL_MS;
        },
      )
      .finally(() => {
        this.purging = false;
      });
  }

  private async claim(tx: Transaction, key: string, fingerprint: string): Promise<Claim> {
    // A plain (consistent) read: no lock, so a replay or a mismatch leaves no trace in the lock table.
    const [row] = await tx.query<StoredRow[]>(`SELECT ${STORED}`, [key]);
    if (row && !isExpired(row)) return decide(row, fingerprint);
    try {
      if (row) {
        // An expired key is free again: take its row over (the purge has not reached it yet).
        const taken = await tx.query<WriteResult>(
          `${NO_WAIT} UPDATE idempotency_keys SET fingerprint = ?,
          response_status = NULL, response_headers = NULL, response_body = NULL, created_at = NOW(3),
          expires_at = NOW(3) + INTERVAL ? SECOND WHERE idempotency_key = ? AND expires_at <= NOW(3)`,
          [fingerprint, this.ttlSeconds, key],
        );
        // Someone else took it over between the read and the update: theirs now.
        return taken.affectedRows === 1 ? { kind: 'claimed' } : { kind: 'in_use' };
      }
      await tx.query<WriteResult>(
        `${NO_WAIT} INSERT INTO idempotency_keys (idempotency_key, fingerprint, expires_at)
        VALUES (?, ?, NOW(3) + INTERVAL ? SECOND)`,
        [key, fingerprint, this.ttlSeconds],
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (isLockConflict(error)) return { kind: 'in_use' };
      if (errno(error) !== ER_DUP_ENTRY) throw error;
      // Committed by another request after this transaction's read: read it as it is now (a locking
      // read sees the latest commit; the failed INSERT already holds the shared lock it needs).
      const [committed] = await tx.query<StoredRow[]>(`SELECT ${STORED} LOCK IN SHARE MODE`, [key]);
      return committed && !isExpired(committed) ? decide(committed, fingerprint) : { kind: 'in_use' };
    }
  }
}
