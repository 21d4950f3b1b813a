// The stack's own settings (read by cluster/settings.ts), as the schema lists them; the workers' are in
// server/env/worker-settings.ts. `.env.example` is generated from both (npm run env:example).
import type { SettingSchema } from '../server/env/schema';
import { WORKER_SETTINGS } from '../server/env/worker-settings';

export const STACK_SETTINGS: readonly SettingSchema[] = [
  {
    name: 'STACK_ENV_FILE',
    default: '',
    meaning: 'In the shell only: the file every command reads settings from (<project>/.env by default).',
    part: 'stack',
  },
  {
    name: 'STACK_NAME',
    default: 'kh',
    meaning: "Prefix of every pm2 app's name, so two stacks never collide.",
    part: 'stack',
  },
  {
    name: 'STACK_DIR',
    default: '.stack',
    meaning: 'The state folder: datadir, logs, secrets, rendered configs (relative to the project).',
    part: 'stack',
  },
  {
    name: 'START_TIMEOUT_MS',
    default: '180000',
    meaning: 'How long `npm start` and `npm run reload` wait for every app to be ready, in ms.',
    part: 'stack',
  },
  {
    name: 'STACK_HOSTS',
    default: '',
    meaning:
      'A JSON file of the hosts the stack runs on, one Galera node, HAProxy and workers each (docs/multi-host.md); unset, one machine.',
    part: 'stack',
  },
  {
    name: 'STACK_HOST',
    default: '',
    meaning: "With STACK_HOSTS: this host's name in it (else the one listed address on this machine's interfaces).",
    part: 'stack',
  },
  {
    name: 'DB_TOPOLOGY',
    default: 'embedded',
    meaning: 'embedded (one MariaDB), galera (a local cluster) or external (the default when MYSQL_HOST is set).',
    part: 'database',
  },
  {
    name: 'MYSQL_HOST',
    default: '',
    meaning: 'A database the stack does not run (DB_TOPOLOGY=external); unset, the stack runs its own.',
    part: 'database',
  },
  {
    name: 'MYSQL_PORT',
    default: '3307',
    meaning: "The database's port: 3307 for the embedded MariaDB, 3306 by default with MYSQL_HOST.",
    part: 'database',
  },
  {
    name: 'MYSQL_ADMIN_USER',
    default: 'root',
    meaning: 'The account migrations and db:shell use on MYSQL_HOST (the embedded one uses the OS user).',
    part: 'database',
  },
  { name: 'MYSQL_ADMIN_PASSWORD', default: '', meaning: "MYSQL_ADMIN_USER's password.", part: 'database' },
  {
    name: 'MYSQL_ADMIN_PASSWORD_FILE',
    default: '',
    meaning: 'A file whose first line is MYSQL_ADMIN_PASSWORD.',
    part: 'database',
  },
  {
    name: 'DB_USER_HOST',
    default: '%',
    meaning: 'Host part of the app, exporter and (on MYSQL_HOST) check accounts.',
    part: 'database',
  },
  {
    name: 'DB_CHECK_USER',
    default: 'haproxy_check',
    meaning: "HAProxy's passwordless health-check account (letters, digits, _ . @ -).",
    part: 'database',
  },
  {
    name: 'DB_EXPORTER_USER',
    default: 'mysqld_exporter',
    meaning: "prometheus-mysqld-exporter's least-privilege account.",
    part: 'monitoring',
  },
  {
    name: 'DB_EXPORTER_PASSWORD',
    default: '',
    meaning: "The exporter account's password (generated for the stack's own database; required for MYSQL_HOST).",
    part: 'monitoring',
  },
  {
    name: 'DB_EXPORTER_PASSWORD_FILE',
    default: '',
    meaning: 'A file whose first line is DB_EXPORTER_PASSWORD.',
    part: 'monitoring',
  },
  {
    name: 'WORKER_PORTS',
    default: '8000,8001',
    meaning: 'One Koa worker per port, comma-separated.',
    part: 'workers',
  },
  { name: 'HTTP_PORT', default: '8080', meaning: "HAProxy's HTTP front door over every worker.", part: 'haproxy' },
  {
    name: 'HAPROXY_STATS_PORT',
    default: '8404',
    meaning: "HAProxy's stats page and Prometheus exporter.",
    part: 'haproxy',
  },
  {
    name: 'HAPROXY_SERVER_MAXCONN',
    default: '10',
    meaning: "The database server's maxconn in HAProxy; WORKER_PORTS x DB_POOL_SIZE must fit in it.",
    part: 'haproxy',
  },
  {
    name: 'HAPROXY_HTTP_MAXCONN',
    default: '1500',
    meaning: "The front door's client connections, idle ones included.",
    part: 'haproxy',
  },
  {
    name: 'GALERA_NODES',
    default: '3',
    meaning: 'Nodes of the local Galera cluster: odd, at least 3.',
    part: 'galera',
  },
  {
    name: 'GALERA_CLIENT_PORT',
    default: '3311',
    meaning: "Node 1's MySQL port; node k uses this + k - 1.",
    part: 'galera',
  },
  { name: 'GALERA_GROUP_PORT', default: '4567', meaning: "Node 1's group-communication port.", part: 'galera' },
  { name: 'GALERA_IST_PORT', default: '4568', meaning: "Node 1's incremental state transfer port.", part: 'galera' },
  { name: 'GALERA_SST_PORT', default: '4444', meaning: "Node 1's full state transfer port.", part: 'galera' },
  { name: 'GALERA_AGENT_PORT', default: '9201', meaning: "Node 1's health agent, which HAProxy asks.", part: 'galera' },
  {
    name: 'GALERA_SERVERS',
    default: '',
    meaning: 'With MYSQL_HOST: an existing Galera cluster, host:port,... (the first one the writer).',
    part: 'galera',
  },
  {
    name: 'GALERA_CHECK_USER',
    default: 'galera_check',
    meaning: "The health agent's USAGE-only account.",
    part: 'galera',
  },
  {
    name: 'GALERA_CHECK_PASSWORD',
    default: '',
    meaning: "The agent account's password (generated for the local cluster; no agent on GALERA_SERVERS without it).",
    part: 'galera',
  },
  {
    name: 'GALERA_CHECK_PASSWORD_FILE',
    default: '',
    meaning: 'A file whose first line is GALERA_CHECK_PASSWORD.',
    part: 'galera',
  },
  { name: 'MONITORING', default: '0', meaning: 'Run Prometheus and mysqld-exporter too (1 or 0).', part: 'monitoring' },
  { name: 'PROMETHEUS_PORT', default: '9090', meaning: "Prometheus's port.", part: 'monitoring' },
  { name: 'MYSQLD_EXPORTER_PORT', default: '9104', meaning: "prometheus-mysqld-exporter's port.", part: 'monitoring' },
];

/** Every setting a command reads, the stack's and the workers'. */
export const ALL_SETTINGS: readonly SettingSchema[] = [...STACK_SETTINGS, ...WORKER_SETTINGS];
