// The stack's topology, read once from the environment: which worker ports, where HAProxy listens,
// which database it fronts (the embedded MariaDB unless MYSQL_HOST is set), and where state lives.
// Everything in cluster/ and the test support takes a StackSettings instead of reading process.env.
// Reading them parses and validates only: nothing is written (the generated passwords are read when they
// exist; cluster/secrets.ts provisionSecrets creates them, called by prepareStateDir). The variables, their
// defaults and meaning are in settings-schema.ts; server/env/reader.ts words every problem.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readWorkerConfig } from '../server/config';
import { EnvReader, type Env } from '../server/env/reader';
import { readPasswordSetting } from '../server/password-setting';
import { maxconnProblem, portClashes } from './capacity';
import { DEFAULT_BASE_PORTS, portProblems, portsFromBase, type GaleraPorts } from './database/galera/layout';
import { findThisHost, interfaceAddresses, parseTopology, type ResolvedTopology } from './hosts/topology';
import { stackPassword, type GeneratedSecret } from './secrets';

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

/** Which database the stack fronts and its accounts. */
export interface DatabaseSettings {
  /** DB_TOPOLOGY: embedded (default), galera, or external (the default when MYSQL_HOST is set). */
  topology: DbTopology;
  /** True when no MYSQL_HOST is set: the stack runs its own mariadbd. */
  embedded: boolean;
  host: string;
  port: number;
  /**
   * Administrative account of an external MYSQL_HOST, used for migrations and db:shell. The embedded
   * server's admin is instead the OS user running the stack over the socket (database/admin-account.ts).
   */
  adminUser: string;
  adminPassword: string;
  appUser: string;
  /**
   * DB_PASSWORD(_FILE), or for the stack's own database the generated <stateDir>/secrets/db-password:
   * '' until provisionSecrets (prepareStateDir) has created it.
   */
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
}

/** HAProxy: the MySQL listener, the front door and the stats page. */
export interface HaproxySettings {
  host: string;
  /** The MySQL listener the workers connect to (the reference's 127.0.0.1:5555). */
  port: number;
  /** HAProxy's stats page and Prometheus exporter. */
  statsPort: number;
  /** HAProxy's HTTP front door, balancing over every worker port (HTTP_PORT). */
  httpPort: number;
  /** The reference's `server mysql1 ... maxconn 10`. */
  serverMaxconn: number;
  /** HAPROXY_HTTP_MAXCONN: the front door's client connections, idle ones included (cluster/haproxy/env.ts). */
  httpMaxconn: number;
}

/** The Koa workers (their own settings, server/config.ts, are checked with these and passed to them). */
export interface WorkersSettings {
  /** One Koa worker per port. */
  ports: number[];
  host: string;
  /** Connections per worker (DB_POOL_SIZE), checked here against HAProxy's maxconn. */
  poolSize: number;
}

/** The local Galera cluster, or an external one behind HAProxy, and the health agent's account. */
export interface GaleraPartSettings {
  /** The local cluster's size and ports (DB_TOPOLOGY=galera only). */
  local?: GaleraSettings;
  /** GALERA_SERVERS (external only): the nodes of an existing Galera cluster, the first one the writer. */
  servers: GaleraServer[];
  /** The health agent's USAGE-only account (GALERA_CHECK_USER), created by sql/R__galera_check.sql. */
  checkUser: string;
  /** '127.0.0.1' for the local cluster (the agent connects over loopback TCP), DB_USER_HOST otherwise. */
  checkUserHost: string;
  /** Generated for the local cluster; GALERA_CHECK_PASSWORD(_FILE) for external servers ('' = no agent). */
  checkPassword: string;
  checkPasswordFile?: string;
  /** GALERA_AGENT_PORT: the agent's listener for the first node; node k listens on this + k - 1. */
  agentPort: number;
}

/** Prometheus and mysqld-exporter (MONITORING=1). */
export interface MonitoringSettings {
  enabled: boolean;
  prometheusPort: number;
  exporterPort: number;
  /** Least-privilege account for prometheus-mysqld-exporter. */
  exporterUser: string;
  exporterPassword: string;
}

/** Where the stack keeps its state and how its apps are named. */
export interface StackCoreSettings {
  /** Git-ignored folder for the embedded datadir, logs, rendered configs, Prometheus data. */
  stateDir: string;
  /** Prefix of every pm2 app name, so two stacks (e.g. a test's) never collide. */
  appPrefix: string;
  /** How long `npm start` waits for every app to be ready (START_TIMEOUT_MS). */
  startTimeoutMs: number;
  /**
   * The passwords the stack generates for its own database, and where (none for an external one, whose
   * passwords are given). provisionSecrets (cluster/secrets.ts) creates the missing ones.
   */
  generatedSecrets: GeneratedSecret[];
}

/** The stack's settings, in typed parts: a consumer can take just the part it reads. */
export interface StackSettings extends StackCoreSettings {
  database: DatabaseSettings;
  haproxy: HaproxySettings;
  workers: WorkersSettings;
  galera: GaleraPartSettings;
  monitoring: MonitoringSettings;
  /**
   * STACK_HOSTS: the hosts the stack runs on, and which one this is (STACK_HOST); undefined on one
   * machine. Implies the stack's own Galera cluster with one node per host (docs/multi-host.md).
   */
  hosts?: ResolvedTopology;
}

/** WORKER_PORTS-style lists, for callers holding a problems list rather than a reader. */
export function parsePortList(raw: string, name: string, problems: string[]): number[] {
  const read = new EnvReader({ [name]: raw === '' ? ' ' : raw });
  const ports = read.portList(name, '');
  problems.push(...read.problems);
  return ports;
}

const GALERA_PORT_VARIABLES: Record<keyof GaleraPorts, string> = {
  client: 'GALERA_CLIENT_PORT',
  group: 'GALERA_GROUP_PORT',
  ist: 'GALERA_IST_PORT',
  sst: 'GALERA_SST_PORT',
  agent: 'GALERA_AGENT_PORT',
};

/**
 * GALERA_NODES (3) and the first node's ports GALERA_*_PORT (3311, 4567, 4568, 4444, 9201). `hostCount`:
 * a topology's number of hosts, one node each, instead of GALERA_NODES.
 */
export function readGaleraSettings(read: EnvReader, hostCount?: number): GaleraSettings {
  const nodes = hostCount ?? read.int('GALERA_NODES', 3, 0);
  // An even count splits into halves that both lose quorum; one node is not a cluster worth the cost.
  if (nodes < 3 || nodes % 2 === 0)
    read.problems.push(`GALERA_NODES must be an odd number of at least 3, got ${nodes}.`);
  const basePorts = Object.fromEntries(
    (Object.keys(GALERA_PORT_VARIABLES) as (keyof GaleraPorts)[]).map((kind) => [
      kind,
      read.port(GALERA_PORT_VARIABLES[kind], DEFAULT_BASE_PORTS[kind]),
    ]),
  ) as unknown as GaleraPorts;
  if (nodes >= 1 && nodes <= 99)
    read.problems.push(...portProblems(portsFromBase(nodes, basePorts)).map((p) => `GALERA_*_PORT: ${p}`));
  return { nodes, basePorts };
}

/**
 * STACK_HOSTS and STACK_HOST: the topology file read and resolved, its problems and those of the
 * settings that cannot go with it added to `problems`. `localAddresses`: this machine's (injected by tests).
 */
function readHosts(
  read: EnvReader,
  env: Env,
  problems: string[],
  localAddresses: () => string[],
): ResolvedTopology | undefined {
  const file = read.string('STACK_HOSTS', '');
  const stackHost = read.string('STACK_HOST', '');
  if (file === '') {
    if (stackHost !== '') problems.push('STACK_HOST names a host of STACK_HOSTS: set STACK_HOSTS too.');
    return undefined;
  }
  const where = `STACK_HOSTS=${file}`;
  // A topology is the stack's own Galera cluster over the hosts, one node each.
  if (env.MYSQL_HOST)
    problems.push(
      `${where} runs the stack's own Galera cluster, one node per host: MYSQL_HOST cannot be set beside it.`,
    );
  if (env.GALERA_NODES) problems.push(`${where} has one Galera node per host: GALERA_NODES cannot be set beside it.`);
  if (env.DB_TOPOLOGY && env.DB_TOPOLOGY !== 'galera')
    problems.push(`${where} means DB_TOPOLOGY=galera (one node per host), not ${env.DB_TOPOLOGY}.`);
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(PROJECT_ROOT, file), 'utf8');
  } catch (error) {
    problems.push(`${where} cannot be read (${(error as Error).message}).`);
    return undefined;
  }
  const { topology, problems: fileProblems } = parseTopology(text);
  problems.push(...fileProblems.map((problem) => `${where}: ${problem}`));
  if (!topology) return undefined;
  const { host, problem } = findThisHost(topology, { stackHost, localAddresses: stackHost ? [] : localAddresses() });
  if (problem) problems.push(`${where}: ${problem}`);
  return host ? { ...topology, thisHost: host } : undefined;
}

function topology(read: EnvReader, env: Env, multiHost: boolean): DbTopology {
  // STACK_HOSTS's conflicts with MYSQL_HOST and DB_TOPOLOGY are reported by readHosts.
  if (multiHost) {
    read.string('DB_TOPOLOGY', 'embedded');
    return 'galera';
  }
  const fallback = env.MYSQL_HOST ? 'external' : 'embedded';
  const known = read.problems.length;
  const chosen = read.oneOf<DbTopology>('DB_TOPOLOGY', fallback, ['embedded', 'galera', 'external']);
  if (read.problems.length > known || read.raw('DB_TOPOLOGY') === undefined) return chosen;
  if (chosen !== 'external' && env.MYSQL_HOST)
    read.problems.push(`MYSQL_HOST is set, which means DB_TOPOLOGY=external, not ${chosen}.`);
  if (chosen === 'external' && !env.MYSQL_HOST)
    read.problems.push('DB_TOPOLOGY=external needs MYSQL_HOST (the server migrations and db:shell use).');
  return chosen;
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

/**
 * A topology's workersPerHost: that many consecutive ports from WORKER_PORTS's first (8000), the same on
 * every host; a WORKER_PORTS of another length beside it is refused.
 */
function hostWorkerPorts(count: number, listed: number[], env: Env, problems: string[]): number[] {
  if (env.WORKER_PORTS && listed.length !== count) {
    problems.push(`STACK_HOSTS has workersPerHost ${count}, but WORKER_PORTS lists ${listed.length} ports.`);
    return listed;
  }
  const first = listed[0] ?? 8000;
  return env.WORKER_PORTS ? listed : Array.from({ length: count }, (_, i) => first + i);
}

/** The one rule for DB_CHECK_USER, checked here and by cluster/haproxy/env.ts for settings built by hand. */
export function checkUserProblem(user: string): string | undefined {
  // The value lands inside a double-quoted word of haproxy.cfg, where a quote or space would end it early.
  if (/^[A-Za-z0-9_.@-]+$/.test(user)) return undefined;
  return `DB_CHECK_USER "${user}" may only contain letters, digits, _ . @ and -.`;
}

/**
 * Reads the stack's settings; throws one Error listing every problem at once. Writes nothing. `read` is
 * given by the schema test, to see which variables were asked for and with which defaults.
 */
export function loadStackSettings(
  env: Env = process.env,
  read = new EnvReader(env),
  localAddresses: () => string[] = () => interfaceAddresses(os.networkInterfaces()),
): StackSettings {
  // Read in the order the problems have always been listed: the database, Galera, workers, HAProxy,
  // monitoring, then the workers' own settings and the cross-checks (the hosts, when set, first).
  const problems = read.problems;
  const hosts = readHosts(read, env, problems, localAddresses);
  const multiHost = (env.STACK_HOSTS ?? '') !== '';
  const dbTopology = topology(read, env, multiHost);
  const embeddedDb = dbTopology === 'embedded';
  // The stack generates the passwords of the databases it runs itself, the single one or the cluster.
  const ownsDb = dbTopology !== 'external';
  const stateDir = path.resolve(PROJECT_ROOT, read.string('STACK_DIR', '.stack'));
  const generatedSecrets: GeneratedSecret[] = [];
  const password = (variable: string, secret: Parameters<typeof stackPassword>[2], generate: boolean) =>
    stackPassword(env, variable, secret, { generate, stateDir }, problems, generatedSecrets);
  const appPassword = password('DB_PASSWORD', 'app', ownsDb);

  // Galera: the local cluster, or an external one's servers; the agent's password is generated for the
  // local cluster, and for external servers only used when given (no agent otherwise).
  const galeraServersRaw = read.string('GALERA_SERVERS', '');
  const galeraServers = dbTopology === 'external' ? parseServerList(galeraServersRaw, problems) : [];
  if (dbTopology !== 'external' && galeraServersRaw.trim() !== '')
    problems.push('GALERA_SERVERS is for an external cluster: set MYSQL_HOST too.');
  const galeraCheckPassword =
    dbTopology === 'galera'
      ? password('GALERA_CHECK_PASSWORD', 'galeraCheck', true)
      : (readPasswordSetting(env, 'GALERA_CHECK_PASSWORD', problems) ?? { value: '' });
  const userHost = read.string('DB_USER_HOST', '%');
  const localGalera = dbTopology === 'galera' ? readGaleraSettings(read, hosts?.hosts.length) : undefined;
  const galera: GaleraPartSettings = {
    ...(localGalera ? { local: localGalera } : {}),
    servers: galeraServers,
    checkUser: read.string('GALERA_CHECK_USER', 'galera_check'),
    checkUserHost: dbTopology === 'galera' ? '127.0.0.1' : userHost,
    checkPassword: galeraCheckPassword.value,
    ...(galeraCheckPassword.file === undefined ? {} : { checkPasswordFile: galeraCheckPassword.file }),
    // The local cluster's node 1 agent port, read with its other ports; an external cluster's own.
    agentPort: localGalera?.basePorts.agent ?? read.port('GALERA_AGENT_PORT', DEFAULT_BASE_PORTS.agent),
  };

  // The workers' own settings (server/config.ts), so one run reports every problem before anything
  // starts, instead of workers crash-looping under pm2. PORT and HAPROXY_PORT are left out: the stack
  // gives each worker its port from WORKER_PORTS and checks HAPROXY_PORT itself. The app password is
  // resolved above (it may be generated) and handed to the workers as a file.
  const worker = readWorkerConfig({
    ...env,
    PORT: undefined,
    HAPROXY_PORT: undefined,
    DB_PASSWORD: '-',
    DB_PASSWORD_FILE: undefined,
  });
  const workerPorts = read.portList('WORKER_PORTS', '8000,8001');
  const workers: WorkersSettings = {
    ports:
      hosts?.workersPerHost === undefined
        ? workerPorts
        : hostWorkerPorts(hosts.workersPerHost, workerPorts, env, problems),
    host: worker.config.host,
    poolSize: worker.config.db.poolSize,
  };

  const haproxy: HaproxySettings = {
    host: worker.config.db.host,
    port: read.port('HAPROXY_PORT', 5555),
    statsPort: read.port('HAPROXY_STATS_PORT', 8404),
    httpPort: read.port('HTTP_PORT', 8080),
    serverMaxconn: read.int('HAPROXY_SERVER_MAXCONN', 10, 1),
    httpMaxconn: read.int('HAPROXY_HTTP_MAXCONN', 1500, 1),
  };

  const database: DatabaseSettings = {
    topology: dbTopology,
    embedded: embeddedDb,
    host: read.string('MYSQL_HOST', '127.0.0.1'),
    port: read.port('MYSQL_PORT', embeddedDb ? 3307 : 3306),
    adminUser: read.string('MYSQL_ADMIN_USER', 'root'),
    adminPassword: readPasswordSetting(env, 'MYSQL_ADMIN_PASSWORD', problems)?.value ?? '',
    appUser: worker.config.db.user,
    appPassword: appPassword.value,
    appPasswordFile: appPassword.file,
    appUserHost: userHost,
    checkUser: read.string('DB_CHECK_USER', 'haproxy_check'),
    checkUserHost: ownsDb ? 'localhost' : userHost,
  };

  const monitoring: MonitoringSettings = {
    exporterUser: read.string('DB_EXPORTER_USER', 'mysqld_exporter'),
    exporterPassword: password('DB_EXPORTER_PASSWORD', 'exporter', ownsDb).value,
    enabled: read.flag('MONITORING', false),
    prometheusPort: read.port('PROMETHEUS_PORT', 9090),
    exporterPort: read.port('MYSQLD_EXPORTER_PORT', 9104),
  };

  const settings: StackSettings = {
    stateDir,
    appPrefix: read.string('STACK_NAME', 'kh'),
    startTimeoutMs: read.int('START_TIMEOUT_MS', 180_000, 1000),
    generatedSecrets,
    database,
    haproxy,
    workers,
    galera,
    monitoring,
    ...(hosts ? { hosts } : {}),
  };
  problems.push(...worker.problems);
  const checkUser = checkUserProblem(settings.database.checkUser);
  if (checkUser) problems.push(checkUser);
  if (!/^[A-Za-z0-9_]{1,32}$/.test(settings.galera.checkUser))
    problems.push(`GALERA_CHECK_USER must be 1-32 of A-Z a-z 0-9 _, got "${settings.galera.checkUser}".`);
  // What HAProxy's capacity and the ports allow (cluster/capacity.ts).
  const maxconn = maxconnProblem(settings);
  if (maxconn) problems.push(maxconn);
  // WORKER_PORTS duplicates are reported by the reader already.
  problems.push(...portClashes({ ...settings, workers: { ...workers, ports: [...new Set(workers.ports)] } }));
  if (problems.length > 0) throw new Error(`Invalid stack configuration:\n  - ${problems.join('\n  - ')}`);
  return settings;
}
