// One host's HAProxy as `npm run status` sees it over the network (status-listener.ts): reachable or
// not, the node its writer table names, and the nodes its own checks see UP; and the verdict over all
// of them: do the proxies agree on one writer. Pure: the pages' text is passed in.

export interface ProxyView {
  /** The topology host the proxy runs on. */
  host: string;
  address: string;
  reachable: boolean;
  /** The node its writer stick table names; undefined when the table is empty or the proxy unreachable. */
  writer?: string;
  /** Each node's state in this proxy's own checks (UP, DOWN, `DOWN 1/2`, MAINT, ...), in backend order. */
  nodes: Record<string, string>;
  /** Why it is unreachable, or what its pages said that could not be read. */
  reason?: string;
}

/** A proxy that did not answer. */
export function unreachableProxy(host: string, address: string, reason: string): ProxyView {
  return { host, address, reachable: false, nodes: {}, reason };
}

/**
 * The view from the proxy's /writer answer (`{"writerServerId":2}`) and its stats CSV: the id is mapped
 * to a name through the CSV's `sid` column of the writer backend, so the name is the proxy's own.
 */
export function proxyViewOf(
  host: string,
  address: string,
  writerBody: string,
  statsCsv: string,
  backend = 'mysql',
): ProxyView {
  const lines = statsCsv.split('\n').filter((line) => line.trim() !== '');
  const header = (lines.shift() ?? '').replace(/^#\s*/, '').split(',');
  const [px, sv, st, sid] = ['pxname', 'svname', 'status', 'sid'].map((name) => header.indexOf(name));
  if ([px, sv, st, sid].some((i) => i! < 0)) {
    return unreachableProxy(host, address, 'its stats page is not HAProxy CSV');
  }
  const servers = lines
    .map((line) => line.split(','))
    .filter((cells) => cells[px!] === backend && cells[sv!] !== 'FRONTEND' && cells[sv!] !== 'BACKEND');
  const nodes = Object.fromEntries(servers.map((cells) => [cells[sv!]!, cells[st!]!]));
  let id: unknown;
  try {
    id = (JSON.parse(writerBody) as { writerServerId?: unknown }).writerServerId;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'number') {
    return { host, address, reachable: true, nodes, reason: `its /writer page said ${JSON.stringify(writerBody)}` };
  }
  // 0: no entry (no connection yet, nothing learned from the peers).
  const writer = id === 0 ? undefined : servers.find((cells) => Number(cells[sid!]) === id)?.[sv!];
  return { host, address, reachable: true, nodes, ...(writer === undefined ? {} : { writer }) };
}

export interface WriterVerdict {
  /** The one node named by every reachable proxy that names one; undefined when none does or they differ. */
  writer?: string;
  /** Each named node and the hosts whose proxy names it; more than one key is a disagreement. */
  byWriter: Record<string, string[]>;
  unreachable: string[];
  /** Reachable proxies whose table is empty. */
  noWriter: string[];
  /** Proxies whose named writer their own checks do not see UP: their next connection goes elsewhere. */
  writerNotUp: string[];
}

export function writerVerdict(views: readonly ProxyView[]): WriterVerdict {
  const byWriter: Record<string, string[]> = {};
  for (const view of views) if (view.writer !== undefined) (byWriter[view.writer] ??= []).push(view.host);
  const named = Object.keys(byWriter);
  return {
    ...(named.length === 1 ? { writer: named[0]! } : {}),
    byWriter,
    unreachable: views.filter((v) => !v.reachable).map((v) => v.host),
    noWriter: views.filter((v) => v.reachable && v.writer === undefined).map((v) => v.host),
    writerNotUp: views.filter((v) => v.writer !== undefined && v.nodes[v.writer] !== 'UP').map((v) => v.host),
  };
}

/** Whether the proxies disagree: two of them name different writers. */
export function disagree(verdict: WriterVerdict): boolean {
  return Object.keys(verdict.byWriter).length > 1;
}

const proxies = (hosts: string[]) =>
  hosts.length === 1 ? `${hosts[0]}'s proxy` : `the proxies of ${hosts.slice(0, -1).join(', ')} and ${hosts.at(-1)}`;

/** The sentence under the hosts table. */
export function verdictLine(verdict: WriterVerdict): string {
  const named = Object.entries(verdict.byWriter);
  const parts: string[] = [];
  if (named.length > 1) {
    parts.push(
      `DISAGREEMENT: the proxies write to different nodes: ${named.map(([node, hosts]) => `${node} (${hosts.join(', ')})`).join(', ')}.`,
    );
  } else if (verdict.writer !== undefined) {
    parts.push(`Every proxy that answers writes to ${verdict.writer}.`);
  } else {
    parts.push('No proxy names a writer.');
  }
  if (verdict.noWriter.length > 0)
    parts.push(
      `No writer yet in ${proxies(verdict.noWriter)} (an empty table, filled by the next connection or a peer).`,
    );
  if (verdict.writerNotUp.length > 0)
    parts.push(
      `The writer named by ${proxies(verdict.writerNotUp)} is not UP in its own checks: its next connection goes to another node.`,
    );
  if (verdict.unreachable.length > 0) parts.push(`Unreachable: ${proxies(verdict.unreachable)}.`);
  return parts.join(' ');
}
