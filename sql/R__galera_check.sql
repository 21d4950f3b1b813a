-- Re-applied on every migrate of a Galera topology only (migrate() skips it otherwise): the health
-- agent's account (cluster/database/galera/health-agent.ts). It reads SHOW GLOBAL STATUS, which needs
-- no privilege, so it gets none beyond logging in (USAGE; migrate() revokes anything else, see grants.ts), and it logs in over TCP, so it has a
-- password (generated into .stack/secrets/galera-check-password for the local cluster). Account
-- statements replicate to every node, so creating it once on the cluster is enough.
CREATE USER IF NOT EXISTS :galera_check_user@:galera_check_host IDENTIFIED BY :galera_check_password WITH MAX_USER_CONNECTIONS 10;
ALTER USER :galera_check_user@:galera_check_host IDENTIFIED BY :galera_check_password WITH MAX_USER_CONNECTIONS 10;
