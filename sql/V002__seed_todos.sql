-- The reference's two rows, inserted once: test.schema_migrations records this file, so a seed row
-- the app deletes stays deleted. IGNORE keeps it idempotent should a crash strike between running
-- the file and recording it.
INSERT IGNORE INTO test.todos (id, item, status) VALUES
  (1, 'task1', 'pending'),
  (2, 'task2', 'done');
