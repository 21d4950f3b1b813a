// Shared by the todos*.test.ts files: a stack of their own (they write rows, which the shared stack's
// tests must not see), raw HTTP calls with exact bytes and headers, and what the table and the query
// metrics look like, to prove that a refused request changed nothing.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request, type Reply } from '../support/http';
import { startTestStack, type TestStack, type TestStackOptions } from '../support/stack';

export const DEFAULT_BODY_LIMIT = 16_384;
export const WRITE_QUERIES = ['create_todo', 'update_todo', 'delete_todo'] as const;

export interface Todo {
  id: number;
  item: string;
  status: string;
}

/** A stack of its own for one test file: before() starts it, after() stops it. */
export function ownStack(options: TestStackOptions = {}): () => TestStack {
  let stack: TestStack | undefined;
  before(async function () {
    this.timeout(60_000);
    stack = await startTestStack(options);
  });
  after(async function () {
    this.timeout(60_000);
    await stack?.stop();
  });
  return () => {
    if (!stack) throw new Error('The stack is not started yet.');
    return stack;
  };
}

/** Sends `body` as given (a string is sent as UTF-8), declared as JSON unless `headers` say otherwise. */
export function send(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Reply> {
  return request(url, { method, headers, body });
}

export function sendJson(
  url: string,
  method: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return send(url, method, JSON.stringify(payload), { 'content-type': 'application/json', ...headers });
}

/** POSTs a todo and checks the 201, returning the stored row and its ETag. */
export async function createTodo(base: string, payload: unknown): Promise<{ todo: Todo; etag: string }> {
  const reply = await sendJson(`${base}/todos`, 'POST', payload);
  expect(reply.status, reply.text).to.equal(201);
  const todo = reply.body as Todo;
  expect(reply.headers.get('location')).to.equal(`/todos/${todo.id}`);
  return { todo, etag: reply.headers.get('etag') ?? '' };
}

export interface TableState {
  rows: Todo[];
  /** A failed or rolled-back INSERT still uses up an id, so this shows an INSERT that was tried. */
  autoIncrement: number;
}

/** The table as MariaDB itself has it (directly, not through HAProxy or a worker). */
export async function tableState(admin: mysql.Connection): Promise<TableState> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT id, item, status FROM test.todos ORDER BY id');
  const [tables] = await admin.query<mysql.RowDataPacket[]>(
    "SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME = 'todos'",
  );
  return {
    rows: rows.map((row) => ({ id: row.id, item: row.item, status: row.status })),
    autoIncrement: Number(tables[0]!.next),
  };
}

/** How often each write query ran on one worker, any outcome, from its /metrics. */
export async function writeQueryCounts(base: string): Promise<Record<string, number>> {
  const text = (await request(`${base}/metrics`)).text;
  const counts: Record<string, number> = {};
  for (const name of WRITE_QUERIES) {
    const pattern = new RegExp(`^db_query_duration_seconds_count\\{[^}]*query="${name}"[^}]*\\} (\\d+)$`, 'gm');
    counts[name] = [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
  }
  return counts;
}

/** How often `query` finished with `outcome` on one worker. */
export async function queryCount(base: string, query: string, outcome = 'ok'): Promise<number> {
  const text = (await request(`${base}/metrics`)).text;
  const pattern = new RegExp(
    `^db_query_duration_seconds_count\\{[^}]*query="${query}",outcome="${outcome}"\\} (\\d+)$`,
    'm',
  );
  return Number(pattern.exec(text)?.[1] ?? 0);
}
