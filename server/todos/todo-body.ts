// One todo as GET /todos/:id sends it: its JSON text and its entity tag, made once per row object.
// Members of one coalesced read that asked for the same id get the very same row object back
// (server/db/db.ts) in the same turn, so they share one encoding, as identical page reads share one page
// body (page.ts). The entry is kept for that turn (turn-cache.ts).
import { todoEtag } from './etag';
import type { Todo } from './repository';
import { TurnCache } from './turn-cache';

export interface EncodedTodo {
  /** The JSON body: a string, which Node sends in one write with the headers. */
  body: string;
  etag: string;
}

export class TodoEncoder {
  private readonly encoded = new TurnCache<Todo, EncodedTodo>();

  /** `todo`: a row as the repository gave it (shared between requests, never modified). */
  encode(todo: Todo): EncodedTodo {
    let encoded = this.encoded.get(todo);
    if (!encoded) {
      encoded = { body: JSON.stringify(todo), etag: todoEtag(todo) };
      this.encoded.set(todo, encoded);
    }
    return encoded;
  }
}
