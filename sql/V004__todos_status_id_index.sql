-- GET /todos?status=... reads one page at a time: the rows with that status and an id above the cursor,
-- in id order (server/todos/repository.ts). This index answers it with one range scan of limit+1
-- entries, however many rows have the other status; without it the scan walks the primary key past
-- every row of the other status (all of them, for a status few rows have). InnoDB appends the primary
-- key to a secondary index anyway; naming id makes the order the index serves explicit.
-- IF NOT EXISTS (MariaDB 10.1.4+): a run that crashed after the index was built but before
-- test.schema_migrations recorded this file simply runs it again.
CREATE INDEX IF NOT EXISTS todos_status_id ON test.todos (status, id);
