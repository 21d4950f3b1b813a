// How MariaDB runs a page statement of TodoRepository: read from EXPLAIN FORMAT=JSON.
import type mysql from 'mysql2/promise';
import { PAGE_BY_STATUS_SQL } from '../../server/todos/repository';

export interface PagePlan {
  access: string;
  key: string;
  keyParts: string[];
  filesort: boolean;
}

/** The plan of the ?status= page statement for these values. */
export async function statusPagePlan(
  admin: mysql.Connection,
  status: string,
  after: number,
  limit: number,
): Promise<PagePlan> {
  const [[row]] = await admin.query<mysql.RowDataPacket[]>(`EXPLAIN FORMAT=JSON ${PAGE_BY_STATUS_SQL}`, [
    status,
    after,
    limit + 1,
  ]);
  const text = String(row!.EXPLAIN);
  const plan = JSON.parse(text) as { query_block: { nested_loop?: { table: Record<string, unknown> }[] } };
  const table = plan.query_block.nested_loop?.[0]?.table ?? {};
  return {
    access: String(table.access_type),
    key: String(table.key),
    keyParts: (table.used_key_parts as string[]) ?? [],
    filesort: text.includes('filesort'),
  };
}
