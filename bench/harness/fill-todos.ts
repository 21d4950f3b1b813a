// The benches' larger tables: test.todos filled to ids 1..N (bench.ts's phases; profile.ts and ab.ts with
// --rows), with rows shaped like the seed's.
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../../cluster/database/admin';
import type { ThrowawayStack } from '../throwaway-stack';

/**
 * Fills test.todos up to `rows` rows (ids 1..rows) with INSERT ... SELECT FROM the sequence engine, as the
 * admin (the app user may read and write test.todos only, not the seq_1_to_N tables).
 */
export async function fillTodos(stack: ThrowawayStack, rows: number): Promise<number> {
  const t0 = Date.now();
  const connection = await mysql.createConnection({ ...adminConnectionOptions(stack.settings), database: 'test' });
  try {
    const [[before]] = await connection.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM todos');
    // Explicit ids: InnoDB hands a bulk INSERT ... SELECT its auto-increment values in growing blocks and
    // drops the unused end of the last one, so a second fill would start after a gap. IGNORE keeps the rows
    // already there (the seed, an earlier phase).
    if (rows > Number(before!.n)) {
      await connection.query(
        `INSERT IGNORE INTO todos (id, item, status) SELECT seq, CONCAT('bench item ', seq), IF(seq % 3 = 0, 'done', 'pending') FROM seq_1_to_${rows}`,
      );
    }
    const [[after]] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n, MAX(id) AS max_id FROM todos',
    );
    if (Number(after!.n) !== rows || Number(after!.max_id) !== rows) {
      throw new Error(`test.todos has ${after!.n} rows up to id ${after!.max_id}, expected ids 1..${rows}.`);
    }
  } finally {
    await connection.end();
  }
  return (Date.now() - t0) / 1000;
}
