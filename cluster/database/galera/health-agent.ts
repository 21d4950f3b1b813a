// The health agent HAProxy's `option httpchk` asks about each Galera node (Percona's clustercheck, in
// one Node process for every node): 200 only when the node is Synced, Primary and wsrep_ready=ON, 503
// otherwise, with the reason as JSON. One listener per node, because HAProxy's check request is the same
// for every server of a backend and only `check port <n>` differs; each listener answers `GET /` for its
// own node and `GET /<name>` for any node, which is handy by hand:
//
//   curl -s 127.0.0.1:9201/      -> {"node":"n1","ok":true,"wsrep_local_state_comment":"Synced",...}
//   curl -s 127.0.0.1:9201/n2    -> 503 {"node":"n2","ok":false,"reason":"wsrep_local_state is 2 (Donor/Desynced)..."}
//
// A listener given its node's files (a local cluster's) also answers `GET /start-state`: the node's
// saved and running state, which the node runners of the other hosts decide their start from
// (start-state.ts). It answers whether the node runs or not, so the agent starts beside the node, not
// after it.
//
// Each answer comes from a fresh connection to the node's own client port as a USAGE-only account (the
// status variables need no privilege), bounded by a short timeout; concurrent checks of one node share
// one query, so a slow node does not pile up connections.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type mysql from 'mysql2/promise';
import { START_STATE_PATH } from './start-state';
import { checkNode, WSREP_VARIABLES, type WsrepHealth } from './wsrep-status';

export interface AgentNode {
  name: string;
  /** How the agent reaches this node: its client port, the check account. */
  login: mysql.ConnectionOptions;
  /** The agent's listener for this node; 0 picks a free one (see ports()). */
  port: number;
  /** The node's start state (start-state.ts), for `GET /start-state`; without it that path is a 404. */
  startState?: () => Promise<unknown>;
}

export interface HealthAgentOptions {
  nodes: readonly AgentNode[];
  /** Address the listeners bind to. */
  host?: string;
  /** Connect and query budget of one check, each (HAProxy's `timeout check` must be longer). */
  timeoutMs?: number;
}

export interface HealthAgent {
  /** Listening port of each node's listener, by node name. */
  ports: Record<string, number>;
  close(): Promise<void>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 1000;

/** The JSON body of an answer: the node, the verdict, the reason and the wsrep variables read. */
export function answerBody(node: string, health: WsrepHealth): Record<string, unknown> {
  const status = Object.fromEntries(
    WSREP_VARIABLES.filter((name) => name in health.status).map((name) => [name, health.status[name]]),
  );
  return { node, ok: health.ok, ...(health.reason === undefined ? {} : { reason: health.reason }), ...status };
}

/** The node a request asks about: `/` is the listener's own, `/<name>` any known one; undefined otherwise. */
export function requestedNode(url: string | undefined, own: string, known: ReadonlySet<string>): string | undefined {
  const pathname = new URL(url ?? '/', 'http://agent').pathname.replace(/\/+$/, '');
  if (pathname === '') return own;
  const name = decodeURIComponent(pathname.slice(1));
  return known.has(name) ? name : undefined;
}

const METRIC_HELP: [string, string][] = [
  ['galera_node_up', "1 when the agent could read the node's wsrep status."],
  [
    'galera_node_ready',
    "1 when the node takes queries (Synced, Primary, wsrep_ready=ON): what HAProxy's check gets as 200.",
  ],
  ['galera_wsrep_local_state', 'wsrep_local_state: 1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced.'],
  ['galera_wsrep_cluster_size', 'wsrep_cluster_size as this node sees it.'],
  ['galera_wsrep_cluster_status_primary', '1 when wsrep_cluster_status is Primary.'],
  ['galera_wsrep_ready', '1 when wsrep_ready is ON.'],
  ['galera_wsrep_connected', '1 when wsrep_connected is ON.'],
];

/** Prometheus text for every node's last check (absent values are left out, as the node did not say). */
export function renderAgentMetrics(checks: readonly { node: string; health: WsrepHealth }[]): string {
  const lines: string[] = [];
  const values = (name: string, health: WsrepHealth): number | undefined => {
    const s = health.status;
    switch (name) {
      case 'galera_node_up':
        return s.wsrep_local_state === undefined ? 0 : 1;
      case 'galera_node_ready':
        return health.ok ? 1 : 0;
      case 'galera_wsrep_local_state':
        return s.wsrep_local_state === undefined ? undefined : Number(s.wsrep_local_state);
      case 'galera_wsrep_cluster_size':
        return s.wsrep_cluster_size === undefined ? undefined : Number(s.wsrep_cluster_size);
      case 'galera_wsrep_cluster_status_primary':
        return s.wsrep_cluster_status === undefined ? undefined : Number(s.wsrep_cluster_status === 'Primary');
      case 'galera_wsrep_ready':
        return s.wsrep_ready === undefined ? undefined : Number(s.wsrep_ready === 'ON');
      case 'galera_wsrep_connected':
        return s.wsrep_connected === undefined ? undefined : Number(s.wsrep_connected === 'ON');
      default:
        return undefined;
    }
  };
  lines.push(
    '# HELP galera_cluster_expected_size Nodes the agent checks: the size a whole cluster reports.',
    '# TYPE galera_cluster_expected_size gauge',
    `galera_cluster_expected_size ${checks.length}`,
  );
  for (const [name, help] of METRIC_HELP) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const { node, health } of checks) {
      const value = values(name, health);
      if (value !== undefined && Number.isFinite(value)) lines.push(`${name}{node="${node}"} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function startHealthAgent(opts: HealthAgentOptions): Promise<HealthAgent> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const byName = new Map(opts.nodes.map((node) => [node.name, node]));
  const inFlight = new Map<string, Promise<WsrepHealth>>();

  function check(name: string): Promise<WsrepHealth> {
    let pending = inFlight.get(name);
    if (!pending) {
      pending = checkNode((byName.get(name) as AgentNode).login, timeoutMs).finally(() => inFlight.delete(name));
      inFlight.set(name, pending);
    }
    return pending;
  }

  function handler(own: string): http.RequestListener {
    return (req, res) => {
      const send = (status: number, body: unknown) => {
        const text = `${JSON.stringify(body)}\n`;
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      };
      if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? '')) {
        send(405, { error: 'method_not_allowed', message: 'Only GET, HEAD and OPTIONS.' });
        return;
      }
      if ((req.url ?? '').split('?')[0] === '/metrics') {
        const names = [...byName.keys()];
        Promise.all(names.map(async (node) => ({ node, health: await check(node) }))).then(
          (checks) => {
            const text = renderAgentMetrics(checks);
            res.writeHead(200, {
              'Content-Type': 'text/plain; version=0.0.4',
              'Content-Length': Buffer.byteLength(text),
            });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (error: unknown) => send(500, { error: 'internal', message: String(error) }),
        );
        return;
      }
      if ((req.url ?? '').split('?')[0] === START_STATE_PATH) {
        const startState = byName.get(own)?.startState;
        if (startState === undefined) {
          send(404, { error: 'not_found', message: `No start state here: ${own} is not a node of this stack.` });
          return;
        }
        startState().then(
          (state) => send(200, state),
          (error: unknown) => send(503, { node: own, error: 'unreadable', message: String(error) }),
        );
        return;
      }
      let name: string | undefined;
      try {
        name = requestedNode(req.url, own, new Set(byName.keys()));
      } catch {
        name = undefined; // a malformed URL or escape
      }
      if (name === undefined) {
        send(404, { error: 'not_found', message: `Ask for / or /<node>, one of ${[...byName.keys()].join(', ')}.` });
        return;
      }
      const node = name;
      check(node).then(
        (health) => send(health.ok ? 200 : 503, answerBody(node, health)),
        (error: unknown) => send(503, { node, ok: false, reason: String(error) }),
      );
    };
  }

  const servers: http.Server[] = [];
  const ports: Record<string, number> = {};
  try {
    for (const node of opts.nodes) {
      const server = http.createServer(handler(node.name));
      // HAProxy opens a connection per check; nothing here should linger.
      server.keepAliveTimeout = 1000;
      server.requestTimeout = 5000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(node.port, opts.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
      ports[node.name] = (server.address() as AddressInfo).port;
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    throw error;
  }

  return {
    ports,
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
