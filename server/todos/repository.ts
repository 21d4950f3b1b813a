// Data access for test.todos. Routes call this; only this file knows the SQL.
import type { Db } from '../db/db';

export type TodoStatus = 'pending' | 'done';

export interface Todo {
  id: number;
  item: string;
  status: string;
}

export class TodoRepository {
  constructor(private readonly db: Db) {}

  async list(): Promise<Todo[]> {
    return this.db.query<Todo[]>('list_todos', 'SELECT id, item, status FROM todos ORDER BY id', [], { idempotent: true });
  }

  /** The reference's shape: `{"1": {"item": ..., "status": ...}, ...}`. */
  async listKeyed(): Promise<Record<string, { item: string; status: string }>> {
    const keyed: Record<string, { item: string; status: string }> = {};
    for (const row of await this.list()) keyed[String(row.id)] = { item: row.item, status: row.status };
    return keyed;
  }
}
