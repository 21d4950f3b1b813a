-- The reference's todo table, with ids the database assigns and a status that is never NULL.
-- utf8mb4 stores 4-byte characters (emoji). utf8mb4_unicode_520_ci gives each emoji its own weight,
-- where utf8mb4_general_ci and utf8mb4_unicode_ci make all of them compare equal; it also exists in
-- MySQL 5.6+, so an external MYSQL_HOST accepts this file as is.
-- The database itself is created by cluster/database/migrate.ts, which keeps its bookkeeping table there.
CREATE TABLE IF NOT EXISTS test.todos (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  item VARCHAR(255),
  status VARCHAR(255) NOT NULL DEFAULT 'pending',
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
