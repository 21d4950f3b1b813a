// A todo's entity tag: a hash of what GET /todos/:id answers, so it changes exactly when the answer
// does and needs no column of its own (a row written back to an earlier state gets its earlier tag
// again, which is right for If-Match: the client's copy is then current). Strong, as If-Match needs.
import { createHash } from 'node:crypto';
import type { Todo } from './repository';

export function todoEtag(todo: Todo): string {
  const digest = createHash('sha256').update(JSON.stringify([todo.id, todo.item, todo.status])).digest('base64url');
  // 132 bits: collisions between two states of one row are not a practical concern.
  return `"${digest.slice(0, 22)}"`;
}
