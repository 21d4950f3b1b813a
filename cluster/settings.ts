// The stack's topology, read once from the environment: which worker ports, where HAProxy listens,
// which database it fronts (the embedded MariaDB unless MYSQL_HOST is set), and where state lives.
// Everything in cluster/ and the test support takes a StackSettings instead of reading process.env.
import path from 'node:path';
import { readWorkerConfig } from '../server/config';
import { readPasswordSetting } from '../server/password-setting';
import { maxconnProblem, portClashes } from './capacity';
import { DEFAULT_BASE_PORTS, portProblems, portsFromBase, type GaleraPorts } from './database/galera/layout';
import { resolveStackPassword } from './secrets';

// From cluster/ (the sources, under tsx) or dist/cluster/ (the build, cluster/build/build.ts).
export const PROJECT_ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');

/**
 * Which database the stack fronts: its own single MariaDB (the default), its own Galera cluster of
 * GALERA_NODES local nodes (DB_TOPOLOGY=galera), or servers it does not run (MYSQL_HOST, and optionally
 * GALERA_SERVERS: an existing Galera cluster behind HAProxy's single-writer backend).
 */
export type DbTopology = 'embedded' | 'galera' | 'external';

export interface GaleraSettings {
  /** GALERA_NODES: an odd number, at least 3. */
  nodes: number;
  /** GALERA_{CLIENT,GROUP,IST,SST,AGENT}_PORT: node 1's ports; the others' follow (galera/layout.ts). */
  basePorts: GaleraPorts;
}

export interface GaleraServer {
  host: string;
  port: number;
}

export interface StackSettings {
  /** DB_TOPOLOGY: embedded (default), galera, or external (the default when MYSQL_HOST is set). */
  dbTopology: DbTopology;
  /** The local cluster's size and ports (DB_TOPOLOGY=galera only). */
  galera?: GaleraSettings;
  /** GALERA_SERVERS (external only): the nodes of an existing Galera cluster, the first one the writer. */
  galeraServers: GaleraServer[];
  /** The health agent's USAGE-only account (GALERA_CHECK_USER), created by sql/R__galera_check.sql. */
  galeraCheckUser: string;
  /** '127.0.0.1' for the local cluster (the agent connects over loopback TCP), DB_USER_HOST otherwise. */
  galeraCheckUserHost: string;
  /** Generated for the local cluster; GALERA_CHECK_PASSWORD(_FILE) for external servers ('' = no agent). */
  galeraCheckPassword: string;
  galeraCheckPasswordFile?: string;
  /** GALERA_AGENT_PORT: the agent's listener for the first node; node k listens on this + k - 1. */
  galeraAgentPort: number;
  /** One Koa worker per port. */
  workerPorts: number[];
  workerHost: string;
  haproxyHost: string;
  /** The MySQL listener the workers connect to (the reference's 127.0.0.1:5555). */
  haproxyPort: number;
  /** HAProxy's stats page and Prometheus exporter. */
  haproxyStatsPort: number;
  /** HAProxy's HTTP front door, balancing over every worker port (HTTP_PORT). */
  httpPort: number;
  /** The reference's `server mysql1 ... maxconn 10`. */
  haproxyServerMaxconn: number;
  /** HAPROXY_HTTP_MAXCONN: the front door's client connections, idle ones included (cluster/haproxy/env.ts). */
  haproxyHttpMaxconn: number;
  /** Connections per worker (DB_POOL_SIZE), checked here against HAProxy's maxconn. */
  poolSize: number;
  /** True when no MYSQL_HOST is set: the stack runs its own mariadbd. */
  embeddedDb: boolean;
  mysqlHost: string;
  mysqlPort: number;
  /**
   * Administrative account of an external MYSQL_HOST, used for migrations and db:shell. The embedded
   * server's admin is instead the OS user running the stack over the socket (database/admin-account.ts).
   */
  mysqlAdminUser: string;
  mysqlAdminPassword: string;
  appUser: string;
  /** DB_PASSWORD(_FILE), or for the embedded server the generated <stateDir>/secrets/db-password. */
  appPassword: string;
  /** The file appPassword was read from, if any: workers are given this path, not the value. */
  appPasswordFile?: string;
  /** Host part of the app and exporter accounts (and of the check account on an external server). */
  appUserHost: string;
  checkUser: string;
  /**
   * Host part of the passwordless check account: `localhost` (the socket only) for the embedded server,
   * which HAProxy reaches over its socket, so no account logs in over TCP without a password.
   */
  checkUserHost: string;
  /** Least-privilege account for prometheus-mysqld-exporter. */
  exporterUser: string;
  exporterPassword: string;
  /** Git-ignored folder for the embedded datadir, logs, rendered configs, Prometheus data. */
  stateDir: string;
  monitoring: boolean;
  prometheusPort: number;
  mysqldExporterPort: number;
  /** Prefix of every pm2 app name, so two stacks (e.g. a test's) never collide. */
  appPrefix: string;
  /** How long `npm start` waits for every app to be ready (START_TIMEOUT_MS). */
  startTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be a whole number, got "${raw}".`);
    return fallback;
  }
  return Number(raw.trim());
}

function port(env: Env, name: string, fallback: number, problems: string[]): number {
  const value = int(env, name, fallback, problems);
  if (value < 1 || value > 65535) problems.push(`${name} must be a TCP port between 1 and 65535, got ${value}.`);
  return value;
}

export function parsePortList(raw: string, name: string, problems: string[]): number[] {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const ports: number[] = [];
  for (const part of parts) {
    const value = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!(value >= 1 && value <= 65535)) {
      problems.push(`${name} must be a comma-separated list of TCP ports, got "${part}".`);
    } else if (ports.includes(value)) {
      problems.push(`${name} lists port ${value} twice.`);
    } else {
      ports.push(value);
    }
  }
  if (parts.length === 0) problems.push(`${name} must list at least one port.`);
  return ports;
}

const GALERA_PORT_VARIABLES: Record<keyof GaleraPorts, string> = {
  client: 'GALERA_CLIENT_PORT',
  group: 'GALERA_GROUP_PORT',
  ist: 'GALERA_IST_PORT',
  sst: 'GALERA_SST_PORT',
  agent: 'GALERA_AGENT_PORT',
};

/** GALERA_NODES (3) and the first node's ports GALERA_*_PORT (3311, 4567, 4568, 4444, 9201). */
export function readGaleraSettings(env: Env, problems: string[]): GaleraSettings {
  const nodes = int(env, 'GALERA_NODES', 3, problems);
  // An even count splits into halves that both lose quorum; one node is not a cluster worth the cost.
  if (nodes < 3 || nodes % 2 === 0) problems.push(`GALERA_NODES must be an odd number of at least 3, got ${nodes}.`);
  const basePorts = Object.fromEntries(
    (Object.keys(GALERA_PORT_VARIABLES) as (keyof GaleraPorts)[]).map((kind) => [
      kind,
      port(env, GALERA_PORT_VARIABLES[kind], DEFAULT_BASE_PORTS[kind], problems),
    ]),
  ) as unknown as GaleraPorts;
  if (nodes >= 1 && nodes <= 99)
    problems.push(...portProblems(portsFromBase(nodes, basePorts)).map((p) => `GALERA_*_PORT: ${p}`));
  return { nodes, basePorts };
}

function topology(env: Env, problems: string[]): DbTopology {
  const raw = (env.DB_TOPOLOGY ?? '').trim();
  if (raw === '') return env.MYSQL_HOST ? 'external' : 'embedded';
  if (raw !== 'embedded' && raw !== 'galera' && raw !== 'external') {
    problems.push(`DB_TOPOLOGY must be embedded, galera or external, got "${raw}".`);
    return 'embedded';
  }
  if (raw !== 'external' && env.MYSQL_HOST)
    problems.push(`MYSQL_HOST is set, which means DB_TOPOLOGY=external, not ${raw}.`);
  if (raw === 'external' && !env.MYSQL_HOST)
    problems.push('DB_TOPOLOGY=external needs MYSQL_HOST (the server migrations and db:shell use).');
  return raw;
}

/** GALERA_SERVERS: `host:port,host:port,...` (port 3306 when left out). */
export function parseServerList(raw: string, problems: string[]): GaleraServer[] {
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .flatMap((part) => {
      const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::(\d+))?$/.exec(part);
      const portNumber = match?.[2] === undefined ? 3306 : Number(match[2]);
      if (!match || portNumber < 1 || portNumber > 65535) {
        problems.push(`GALERA_SERVERS must be a comma-separated list of host:port, got "${part}".`);
        return [];
      }
      return [{ host: match[1] as string, port: portNumber }];
    });
}

function startTimeout(env: Env, problems: string[]): number {
  const value = int(env, 'START_TIMEOUT_MS', 180_000, problems);
  if (value < 1000) problems.push(`START_TIMEOUT_MS must be at least 1000 (milliseconds), got ${value}.`);
  return value;
}

/** The one rule for DB_CHECK_USER, checked here and by cluster/haproxy/env.ts for settings built by hand. */
export function checkUserProblem(user: string): string | undefined {
  // The value lands inside a double-quoted word of haproxy.cfg, where a quote or space would end it early.
  if (/^[A-Za-z0-9_.@-]+$/.test(user)) return undefined;
  return `DB_CHECK_USER "${user}" may only contain letters, digits, _ . @ and -.`;
}

function flag(env: Env, name: string, problems: string[]): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '1' || raw === 'true') return true;
  if (raw !== '' && raw !== '0' && raw !== 'false')
    problems.push(`${name} must be 1 or 0 (or true or false), got "${env[name]}".`);
  return false;
}

/** Reads the stack's settings; throws one Error listing every problem at once. */
export function loadStackSettings(env: Env = process.env): StackSettings {
  const problems: string[] = [];
  const dbTopology = topology(env, problems);
  const embeddedDb = dbTopology === 'embedded';
  // The stack generates the passwords of the databases it runs itself, the single one or the cluster.
  const ownsDb = dbTopology !== 'external';
  // The workers' own settings (server/config.ts), so one run reports every problem before anything
  // starts, instead of workers crash-looping under pm2. PORT and HAPROXY_PORT are left out: the stack
  // gives each worker its port from WORKER_PORTS and checks HAPROXY_PORT itself.
  // The app password is resolved below (it may be generated) and handed to the workers as a file.
  const worker = readWorkerConfig({
    ...env,
    PORT: undefined,
    HAPROXY_PORT: undefined,
    DB_PASSWORD: '-',
    DB_PASSWORD_FILE: undefined,
  });
  const stateDir = path.resolve(PROJECT_ROOT, env.STACK_DIR || '.stack');
  const appPassword = resolveStackPassword(env, 'DB_PASSWORD', 'app', { embeddedDb: ownsDb, stateDir }, problems);
  const galeraServers = dbTopology === 'external' ? parseServerList(env.GALERA_SERVERS ?? '', problems) : [];
  if (dbTopology !== 'external' && (env.GALERA_SERVERS ?? '').trim() !== '')
    problems.push('GALERA_SERVERS is for an external cluster: set MYSQL_HOST too.');
  // The agent's password: generated for the local cluster; for external servers only when given (no agent otherwise).
  const galeraCheckPassword =
    dbTopology === 'galera'
      ? resolveStackPassword(env, 'GALERA_CHECK_PASSWORD', 'galeraCheck', { embeddedDb: true, stateDir }, problems)
      : (readPasswordSetting(env, 'GALERA_CHECK_PASSWORD', problems) ?? { value: '' });
  const settings: StackSettings = {
    dbTopology,
    ...(dbTopology === 'galera' ? { galera: readGaleraSettings(env, problems) } : {}),
    galeraServers,
    galeraCheckUser: env.GALERA_CHECK_USER || 'galera_check',
    galeraCheckUserHost: dbTopology === 'galera' ? '127.0.0.1' : env.DB_USER_HOST || '%',
    galeraCheckPassword: galeraCheckPassword.value,
    galeraAgentPort: port(env, 'GALERA_AGENT_PORT', DEFAULT_BASE_PORTS.agent, problems),
    ...(galeraCheckPassword.file === undefined ? {} : { galeraCheckPasswordFile: galeraCheckPassword.file }),
    workerPorts: parsePortList(env.WORKER_PORTS ?? '8000,8001', 'WORKER_PORTS', problems),
    workerHost: env.WORKER_HOST || '127.0.0.1',
    haproxyHost: env.HAPROXY_HOST || '127.0.0.1',
    haproxyPort: port(env, 'HAPROXY_PORT', 5555, problems),
    haproxyStatsPort: port(env, 'HAPROXY_STATS_PORT', 8404, problems),
    httpPort: port(env, 'HTTP_PORT', 8080, problems),
    haproxyServerMaxconn: int(env, 'HAPROXY_SERVER_MAXCONN', 10, problems),
    haproxyHttpMaxconn: int(env, 'HAPROXY_HTTP_MAXCONN', 1500, problems),
    poolSize: worker.config.db.poolSize,
    embeddedDb,
    mysqlHost: env.MYSQL_HOST || '127.0.0.1',
    mysqlPort: port(env, 'MYSQL_PORT', embeddedDb ? 3307 : 3306, problems),
    mysqlAdminUser: env.MYSQL_ADMIN_USER || 'root',
    mysqlAdminPassword: readPasswordSetting(env, 'MYSQL_ADMIN_PASSWORD', problems)?.value ?? '',
    appUser: env.DB_USER || 'haproxy_user',
    appPassword: appPassword.value,
    appPasswordFile: appPassword.file,
    appUserHost: env.DB_USER_HOST || '%',
    checkUser: env.DB_CHECK_USER || 'haproxy_check',
    checkUserHost: ownsDb ? 'localhost' : env.DB_USER_HOST || '%',
    exporterUser: env.DB_EXPORTER_USER || 'mysqld_exporter',
    exporterPassword: resolveStackPassword(
      env,
      'DB_EXPORTER_PASSWORD',
      'exporter',
      { embeddedDb: ownsDb, stateDir },
      problems,
    ).value,
    stateDir,
    monitoring: flag(env, 'MONITORING', problems),
    prometheusPort: port(env, 'PROMETHEUS_PORT', 9090, problems),
    mysqldExporterPort: port(env, 'MYSQLD_EXPORTER_PORT', 9104, problems),
    appPrefix: env.STACK_NAME || 'kh',
    startTimeoutMs: startTimeout(env, problems),
  };
  if (settings.haproxyServerMaxconn < 1) problems.push('HAPROXY_SERVER_MAXCONN must be at least 1.');
  if (settings.haproxyHttpMaxconn < 1) problems.push('HAPROXY_HTTP_MAXCONN must be at least 1.');
  problems.push(...worker.problems);
  const checkUser = checkUserProblem(settings.checkUser);
  if (checkUser) problems.push(checkUser);
  if (!/^[A-Za-z0-9_]{1,32}$/.test(settings.galeraCheckUser))
    problems.push(`GALERA_CHECK_USER must be 1-32 of A-Z a-z 0-9 _, got "${settings.galeraCheckUser}".`);
  // What HAProxy's capacity and the ports allow (cluster/capacity.ts).
  const maxconn = maxconnProblem(settings);
  if (maxconn) problems.push(maxconn);
  // WORKER_PORTS duplicates are reported by parsePortList already.
  problems.push(...portClashes({ ...settings, workerPorts: [...new Set(settings.workerPorts)] }));
  if (problems.length > 0) throw new Error(`Invalid stack configuration:\n  - ${problems.join('\n  - ')}`);
  return settings;
}
