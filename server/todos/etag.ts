// A todo's entity tag: a hash of what GET /todos/:id answers, so it changes exactly when the answer
// does and needs no column of its own (a row written back to an earlier state gets its earlier tag
// again, which is right for If-Match: the client's copy is then current). Strong, as If-Match needs.
import { hash } from 'node:crypto';
import type { Todo } from './repository';

export function todoEtag(todo: Todo): string {
  const digest = hash('sha256', JSON.stringify([todo.id, todo.item, todo.status]), 'base64url');
  // 132 bits: collisions between two states of one row are not a practical concern.
  return `"${digest.slice(0, 22)}"`;
}

const ENTITY_TAG = /(?:W\/)?("[\x21\x23-\x7E\x80-\xFF]*")/g;

/**
 * Whether If-None-Match names `etag` (RFC 9110 section 13.1.2: weak comparison, `*` for any current
 * representation), so a GET may answer 304. A malformed field matches nothing: the client gets the
 * full answer, which is always safe for a read. Not Koa's ctx.fresh: that reads a request's
 * `Cache-Control: no-cache` as "never 304", and fetch() adds that header to every conditional request
 * it sends, although the directive is for caches, not for the origin's precondition.
 */
export function ifNoneMatchHits(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === '') return false; // most requests: no conditional GET
  if (ifNoneMatch.trim() === '*') return true;
  for (const match of ifNoneMatch.matchAll(ENTITY_TAG)) if (match[1] === etag) return true;
  return false;
}
