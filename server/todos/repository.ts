// Data access for test.todos. Routes call this; only this file knows the SQL. Every statement is
// parameterised, and each operation is one named query in the metrics (list_todos, get_todo,
// create_todo, update_todo, delete_todo): one statement, or one transaction on one leased connection.
// The *In methods run inside a transaction the caller opened (a write guarded by an Idempotency-Key,
// whose key row must commit or roll back with it). Reads are batchable (Db's `batch`): identical reads
// queued together share one statement, sent after all of them arrived (DB_READ_BATCHING, README), and
// reads of different ids are coalesced into one (Db.readByKey).
// The rows they get back are shared between those requests: never modify them.
import type { Db, KeyedRead, Transaction, WriteResult } from '../db/db';
import type { CancelSignal } from '../db/cancel-signal';
import type { PageQuery } from '../validation/page';
import type { NewTodo, TodoPatch } from '../validation/todo';

export type { TodoStatus } from '../validation/todo';

export interface Todo {
  id: number;
  item: string;
  status: string;
}

/** Decides, looking at the row as it is now (locked), whether a write may go ahead. */
export type WriteCondition = (current: Todo) => boolean;

/** What a conditional write found: done, no such row, or a row the condition refused. */
export type WriteOutcome<T> = { kind: 'done'; value: T } | { kind: 'absent' } | { kind: 'refused'; current: Todo };

const COLUMNS = 'id, item, status';
/** GET /todos/:id: reads of different ids queued together are coalesced into one IN (...) (Db.readByKey). */
const TODO_BY_ID: KeyedRead<Todo> = {
  sql: (inList) => `SELECT ${COLUMNS} FROM todos WHERE id IN (${inList})`,
  keyOf: (row) => row.id,
};
/** One statement: INSERT ... RETURNING (MariaDB 10.5+) gives back the stored row with its new id. */
const INSERT_TODO = `INSERT INTO todos (item, status) VALUES (?, ?) RETURNING ${COLUMNS}`;

/** A page: a range scan of the primary key from the cursor on. */
export const PAGE_SQL = `SELECT ${COLUMNS} FROM todos WHERE id > ? ORDER BY id LIMIT ?`;
/**
 * A page of one status: a range scan of todos_status_id (status, id) from (status, cursor) on. Forced:
 * left to itself, MariaDB 10.11 reads the index as `ref` on status alone and filters `id > ?` entry by
 * entry from the first row of that status, so page n costs n pages (over 100 ms in the middle of
 * 1,000,000 rows, against about 1 ms as a range).
 */
export const PAGE_BY_STATUS_SQL = `SELECT ${COLUMNS} FROM todos FORCE INDEX (todos_status_id) WHERE status = ? AND id > ? ORDER BY id LIMIT ?`;

function insertedRow(rows: Todo[]): Todo {
  const row = rows[0];
  if (!row) throw new Error('INSERT ... RETURNING gave back no row.');
  return row;
}

export class TodoRepository {
  constructor(private readonly db: Db) {}

  /**
   * One page: up to `limit + 1` rows with an id above `after` (and the status, if given), in id order.
   * The row past the limit is not part of the page: it only says that another page follows
   * (server/todos/page.ts). A keyset range scan (the primary key, or todos_status_id for a status), so
   * its cost depends on the limit, not on the table. Identical page reads queued together share one
   * statement and get the same array. `signal`: the client went away.
   */
  async listPage(page: PageQuery, signal?: CancelSignal): Promise<readonly Todo[]> {
    const options = { idempotent: true, batch: true, signal };
    if (page.status === undefined)
      return this.db.query<Todo[]>('list_todos', PAGE_SQL, [page.after, page.limit + 1], options);
    return this.db.query<Todo[]>('list_todos', PAGE_BY_STATUS_SQL, [page.status, page.after, page.limit + 1], options);
  }

  async get(id: number, signal?: CancelSignal): Promise<Todo | undefined> {
    return this.db.readByKey('get_todo', TODO_BY_ID, id, { signal });
  }

  /** One statement (INSERT ... RETURNING). */
  async create(todo: NewTodo): Promise<Todo> {
    return insertedRow(
      await this.db.query<Todo[]>('create_todo', INSERT_TODO, [todo.item, todo.status], { write: true }),
    );
  }

  /** create() as a statement of the caller's transaction. */
  async createIn(tx: Transaction, todo: NewTodo): Promise<Todo> {
    return insertedRow(await tx.query<Todo[]>(INSERT_TODO, [todo.item, todo.status]));
  }

  /**
   * Applies `patch` in one transaction: the row is read FOR UPDATE, so a concurrent writer (another
   * worker) waits until this one commits and then sees its result. The row that ends up stored is always
   * one some request wrote in full, two patches of different fields both survive, and the row returned
   * is exactly the one this request left behind. MariaDB 10.11 has no UPDATE ... RETURNING.
   */
  async update(id: number, patch: TodoPatch, condition?: WriteCondition): Promise<WriteOutcome<Todo>> {
    return this.db.transaction('update_todo', (tx) => this.updateIn(tx, id, patch, condition));
  }

  /** update() inside the caller's transaction. */
  async updateIn(
    tx: Transaction,
    id: number,
    patch: TodoPatch,
    condition?: WriteCondition,
  ): Promise<WriteOutcome<Todo>> {
    const current = await this.lockRow(tx, id);
    if (!current) return { kind: 'absent' };
    if (condition && !condition(current)) return { kind: 'refused', current };
    const next: Todo = { id, item: patch.item ?? current.item, status: patch.status ?? current.status };
    await tx.query<WriteResult>('UPDATE todos SET item = ?, status = ? WHERE id = ?', [next.item, next.status, id]);
    return { kind: 'done', value: next };
  }

  /**
   * Deletes the row. Without a condition that is one statement; with one, the row is read FOR UPDATE
   * first so nobody changes it between the check and the delete.
   */
  async remove(id: number, condition?: WriteCondition): Promise<WriteOutcome<Todo | undefined>> {
    if (!condition) {
      const result = await this.db.query<WriteResult>('delete_todo', 'DELETE FROM todos WHERE id = ?', [id], {
        write: true,
      });
      return result.affectedRows === 0 ? { kind: 'absent' } : { kind: 'done', value: undefined };
    }
    return this.db.transaction('delete_todo', (tx) => this.removeIn(tx, id, condition));
  }

  /** remove() inside the caller's transaction: without a condition, the DELETE alone. */
  async removeIn(tx: Transaction, id: number, condition?: WriteCondition): Promise<WriteOutcome<Todo | undefined>> {
    if (!condition) {
      const result = await tx.query<WriteResult>('DELETE FROM todos WHERE id = ?', [id]);
      return result.affectedRows === 0 ? { kind: 'absent' } : { kind: 'done', value: undefined };
    }
    const current = await this.lockRow(tx, id);
    if (!current) return { kind: 'absent' };
    if (!condition(current)) return { kind: 'refused', current };
    await tx.query<WriteResult>('DELETE FROM todos WHERE id = ?', [id]);
    return { kind: 'done', value: current };
  }

  private async lockRow(tx: Transaction, id: number): Promise<Todo | undefined> {
    const rows = await tx.query<Todo[]>(`SELECT ${COLUMNS} FROM todos WHERE id = ? FOR UPDATE`, [id]);
    return rows[0];
  }
}
