-- Re-applied on every migrate (every database start): the accounts the stack logs in with, each with
-- exactly its grants. Values come in as named placeholders that mysql2 escapes client-side (see
-- migrationParams() in cluster/database/migrate.ts). ALTER USER after CREATE USER IF NOT EXISTS makes a
-- changed password or limit take effect on an existing account. Every statement here only adds: after
-- the file, migrate() revokes from each account it creates whatever these GRANTs do not give it
-- (cluster/database/grants.ts; the reference granted ALL ON *.*), one privilege at a time, so a worker is
-- never refused in between. Hence no REVOKE here, and each privilege is named (no ALL).

-- The Koa workers, through HAProxy: rows of test.todos and test.idempotency_keys, and reading test.schema_migrations (a worker
-- waits there for its newest migration). Nothing else: no DDL, no other schema, and not migrate()'s
-- test.stack_accounts, whose rows name the accounts migrate() drops.
CREATE USER IF NOT EXISTS :app_user@:user_host IDENTIFIED BY :app_password;
ALTER USER :app_user@:user_host IDENTIFIED BY :app_password;
GRANT SELECT, INSERT, UPDATE, DELETE ON test.todos TO :app_user@:user_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON test.idempotency_keys TO :app_user@:user_host;
GRANT SELECT ON test.schema_migrations TO :app_user@:user_host;

-- HAProxy option mysql-check logs in with this account and quits at once. The check cannot send a
-- password, so the account has none, and therefore no privilege beyond logging in. On the embedded
-- server its host is localhost (:check_user_host): HAProxy reaches that server over its socket, so
-- no passwordless login exists over TCP, and only the OS user running the stack can reach the socket.
CREATE USER IF NOT EXISTS :check_user@:check_user_host;
ALTER USER :check_user@:check_user_host IDENTIFIED BY '';

-- prometheus-mysqld-exporter: the grants its README lists. MAX_USER_CONNECTIONS 3 keeps slow scrapes
-- from piling up connections. MariaDB 10.5.9+ moved SHOW SLAVE STATUS (the default slave_status
-- collector) to SLAVE MONITOR; the versioned comment grants it there and is skipped by MySQL.
CREATE USER IF NOT EXISTS :exporter_user@:user_host IDENTIFIED BY :exporter_password WITH MAX_USER_CONNECTIONS 3;
ALTER USER :exporter_user@:user_host IDENTIFIED BY :exporter_password WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT /*M!100509 , SLAVE MONITOR */ ON *.* TO :exporter_user@:user_host;
GRANT SELECT ON performance_schema.* TO :exporter_user@:user_host;
