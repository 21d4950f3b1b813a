// sql/V004__todos_status_id_index.sql: the index the ?status= pages of GET /todos are read from, on
// (status, id), created once however often the file runs (a crash before it was recorded re-runs it).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { SQL_DIR } from '../../cluster/database/migrate';
import { useMigratedMariaDb } from '../support/migrated-mariadb';

describe('sql/V004__todos_status_id_index.sql', function () {
  this.timeout(30_000);
  const database = useMigratedMariaDb('status-index');

  async function indexColumns(): Promise<string[]> {
    const [rows] = await database.admin.query<mysql.RowDataPacket[]>(
      "SHOW INDEX FROM test.todos WHERE Key_name = 'todos_status_id'",
    );
    return rows.map((row) => `${row.Seq_in_index}:${row.Column_name}`);
  }

  it('indexes test.todos on (status, id)', async () => {
    expect(await indexColumns()).to.deep.equal(['1:status', '2:id']);
  });

  it('runs again without error, leaving the one index as it was', async () => {
    const sql = await readFile(path.join(SQL_DIR, 'V004__todos_status_id_index.sql'), 'utf8');
    await database.admin.query(sql);
    await database.admin.query(sql);
    expect(await indexColumns()).to.deep.equal(['1:status', '2:id']);
  });
});
