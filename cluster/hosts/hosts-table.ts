// The part of `npm run status` that exists only over several hosts (STACK_HOSTS): one line per host with
// its Galera node's state, its proxy (read over the network, status-listener.ts) and the node that proxy
// writes to, then whether the proxies agree. Pure: the states are passed in.
import { renderTable } from '../table';
import { disagree, verdictLine, writerVerdict, type ProxyView } from './proxy-view';

export interface HostRow {
  host: string;
  address: string;
  /** Its Galera node (n<i>). */
  node: string;
  /** The node's state as the app table prints it (`Synced, size 3`, `agent unreachable`). */
  galera: string;
  proxy: ProxyView;
}

function writesToCell(proxy: ProxyView): string {
  if (!proxy.reachable) return '-';
  if (proxy.writer === undefined) return 'none yet';
  const state = proxy.nodes[proxy.writer];
  return state === 'UP' ? proxy.writer : `${proxy.writer} (${state ?? 'unknown'} here)`;
}

function nodesCell(proxy: ProxyView): string {
  return Object.entries(proxy.nodes)
    .map(([node, state]) => `${node} ${state}`)
    .join(', ');
}

/** The hosts table and the verdict line under it. */
export function renderHostsTable(rows: readonly HostRow[]): string {
  const table = renderTable(
    ['host', 'address', 'node', 'galera', 'proxy', 'writes to', "proxy's checks"],
    rows.map((row) => [
      row.host,
      row.address,
      row.node,
      row.galera,
      row.proxy.reachable ? 'up' : 'unreachable',
      writesToCell(row.proxy),
      row.proxy.reachable ? nodesCell(row.proxy) : (row.proxy.reason ?? ''),
    ]),
  );
  return `${table}\n${verdictLine(writerVerdict(rows.map((row) => row.proxy)))}`;
}

/**
 * A proxy for `--json`: its view, and `writerAgreed`: true when every reachable proxy naming a writer
 * names this one's, false when they disagree, null when it names none (or is unreachable).
 */
export function proxyJson(proxy: ProxyView, all: readonly ProxyView[]): object {
  const verdict = writerVerdict(all);
  return {
    host: proxy.host,
    address: proxy.address,
    reachable: proxy.reachable,
    writer: proxy.writer ?? null,
    writerAgreed: proxy.writer === undefined ? null : !disagree(verdict),
    nodes: proxy.nodes,
    ...(proxy.reason === undefined ? {} : { reason: proxy.reason }),
  };
}
