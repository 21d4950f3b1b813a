// todoEtag(todo): a strong tag that follows the answer of GET /todos/:id exactly. No server needed.
import { expect } from 'chai';
import { todoEtag } from '../../server/todos/etag';

describe('todoEtag(todo)', () => {
  const todo = { id: 7, item: 'walk the dog', status: 'pending' };

  it('is a strong, quoted tag of 22 base64url characters', () => {
    expect(todoEtag(todo)).to.match(/^"[A-Za-z0-9_-]{22}"$/);
  });

  it('is the same for the same row, computed anywhere (no process state)', () => {
    expect(todoEtag({ ...todo })).to.equal(todoEtag(todo));
  });

  it('changes when any field changes, including whitespace and Unicode form', () => {
    const tags = new Set([
      todoEtag(todo),
      todoEtag({ ...todo, id: 8 }),
      todoEtag({ ...todo, status: 'done' }),
      todoEtag({ ...todo, item: 'walk the dog ' }),
      todoEtag({ ...todo, item: 'café' }),
      todoEtag({ ...todo, item: 'cafe\u0301' }),
    ]);
    expect(tags.size).to.equal(6);
  });

  it('does not confuse fields whose text runs together', () => {
    expect(todoEtag({ id: 1, item: 'ab', status: 'c' })).to.not.equal(todoEtag({ id: 1, item: 'a', status: 'bc' }));
  });
});
