// The lab's /24 must not overlap a network the machine already reaches: the client port puts a route
// for it into the root namespace, and an overlap would send some of the machine's own traffic into the
// lab (or the lab's to the outside).

export interface Route {
  /** "default", an address ("10.0.0.1") or a prefix ("10.0.0.0/8"), as `ip -j route` prints it. */
  dst: string;
  dev?: string;
}

function toNumber(address: string): number | undefined {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

/** [first, last] address of a prefix, undefined for what is not IPv4 (IPv6 routes never clash). */
function range(dst: string): [number, number] | undefined {
  const [address = '', bits = '32'] = dst.split('/');
  const base = toNumber(address);
  const length = Number(bits);
  if (base === undefined || !Number.isInteger(length) || length < 0 || length > 32) return undefined;
  const size = 2 ** (32 - length);
  const first = base - (base % size);
  return [first, first + size - 1];
}

/** The routes whose destination overlaps `cidr`, leaving out the default route (which every network
 *  "overlaps") and routes through the lab's own links (a stale lab about to be swept). */
export function clashingRoutes(cidr: string, routes: Route[], ownLink: (dev: string) => boolean): Route[] {
  const ours = range(cidr);
  if (!ours) throw new TypeError(`Not an IPv4 prefix: ${cidr}.`);
  return routes.filter((route) => {
    if (route.dst === 'default' || (route.dev !== undefined && ownLink(route.dev))) return false;
    const theirs = range(route.dst);
    return theirs !== undefined && theirs[0] <= ours[1] && ours[0] <= theirs[1];
  });
}
