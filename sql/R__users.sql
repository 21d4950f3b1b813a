-- Re-applied on every migrate: the accounts the stack logs in with, each with exactly its grants.
-- Values come in as named placeholders that mysql2 escapes client-side (see migrationParams() in
-- cluster/db/migrate.ts). ALTER USER after CREATE USER IF NOT EXISTS makes a changed password or
-- limit take effect on an existing account; REVOKE ALL before GRANT removes anything granted by hand
-- (the reference granted ALL ON *.*). The revoke-then-grant gap lasts one round trip.

-- The Koa workers, through HAProxy: rows of test.todos and test.idempotency_keys, and reading test.schema_migrations (a worker
-- waits there for its newest migration). Nothing else: no DDL, no other schema, and not migrate()'s
-- test.stack_accounts, whose rows name the accounts migrate() drops.
CREATE USER IF NOT EXISTS :app_user@:user_host IDENTIFIED BY :app_password;
ALTER USER :app_user@:user_host IDENTIFIED BY :app_password;
REVOKE ALL PRIVILEGES, GRANT OPTION FROM :app_user@:user_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON test.todos TO :app_user@:user_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON test.idempotency_keys TO :app_user@:user_host;
GRANT SELECT ON test.schema_migrations TO :app_user@:user_host;

-- HAProxy option mysql-check logs in with this account and quits at once. The check cannot send a
-- password, so the account has none, and therefore no privilege beyond logging in. On the embedded
-- server its host is localhost (:check_user_host): HAProxy reaches that server over its socket, so
-- no passwordless login exists over TCP, and only the OS user running the stack can reach the socket.
CREATE USER IF NOT EXISTS :check_user@:check_user_host;
ALTER USER :check_user@:check_user_host IDENTIFIED BY '';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM :check_user@:check_user_host;

-- prometheus-mysqld-exporter: the grants its README lists. MAX_USER_CONNECTIONS 3 keeps slow scrapes
-- from piling up connections. MariaDB 10.5.9+ moved SHOW SLAVE STATUS (the default slave_status
-- collector) to SLAVE MONITOR; the versioned comment grants it there and is skipped by MySQL.
CREATE USER IF NOT EXISTS :exporter_user@:user_host IDENTIFIED BY :exporter_password WITH MAX_USER_CONNECTIONS 3;
ALTER USER :exporter_user@:user_host IDENTIFIED BY :exporter_password WITH MAX_USER_CONNECTIONS 3;
REVOKE ALL PRIVILEGES, GRANT OPTION FROM :exporter_user@:user_host;
GRANT PROCESS, REPLICATION CLIENT /*M!100509 , SLAVE MONITOR */ ON *.* TO :exporter_user@:user_host;
GRANT SELECT ON performance_schema.* TO :exporter_user@:user_host;
