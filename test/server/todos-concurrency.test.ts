// Two workers writing the same row at the same moment, each over its own connection through HAProxy.
// Without If-Match the last write wins, but only whole: the stored row is always one a request wrote,
// patches of different fields both survive, and each response shows the row its own write left. With
// If-Match exactly one of two writers holding the same ETag succeeds; the other gets 412.
import { expect } from 'chai';
import { request, type Reply } from '../support/http';
import { createTodo, ownStack, sendJson, type Todo } from './todos-helpers';

const ROUNDS = 40;

describe('/todos under concurrent writes from both workers', function () {
  this.timeout(60_000);
  const stack = ownStack();
  const urls = () => stack().workers.map((w) => w.url) as [string, string];

  it('full-row PATCHes at once leave exactly one of the two rows, never a mix', async () => {
    const [one, two] = urls();
    const { todo } = await createTodo(one, { item: 'contended', status: 'pending' });
    for (let round = 0; round < ROUNDS; round += 1) {
      const a = { item: `A${round}`, status: 'done' };
      const b = { item: `B${round}`, status: 'pending' };
      const [ra, rb] = await Promise.all([
        sendJson(`${one}/todos/${todo.id}`, 'PATCH', a),
        sendJson(`${two}/todos/${todo.id}`, 'PATCH', b),
      ]);
      expect([ra.status, rb.status]).to.deep.equal([200, 200]);
      // Each answer is the row its own request left, even when the other write followed at once.
      expect(ra.body).to.deep.equal({ id: todo.id, ...a });
      expect(rb.body).to.deep.equal({ id: todo.id, ...b });
      const final = (await request(`${two}/todos/${todo.id}`)).body;
      expect([
        { id: todo.id, ...a },
        { id: todo.id, ...b },
      ]).to.deep.include(final);
    }
  });

  it('PATCHes of different fields at once both survive (no lost update)', async () => {
    const [one, two] = urls();
    const { todo } = await createTodo(one, { item: 'fields', status: 'pending' });
    for (let round = 0; round < ROUNDS; round += 1) {
      const item = `item ${round}`;
      const status = round % 2 === 0 ? 'done' : 'pending';
      const [ra, rb] = await Promise.all([
        sendJson(`${one}/todos/${todo.id}`, 'PATCH', { item }),
        sendJson(`${two}/todos/${todo.id}`, 'PATCH', { status }),
      ]);
      expect([ra.status, rb.status]).to.deep.equal([200, 200]);
      // Whichever went second saw the first one's field.
      const answers = [ra.body, rb.body] as Todo[];
      expect(answers.some((row) => row.item === item && row.status === status)).to.equal(true);
      expect((await request(`${one}/todos/${todo.id}`)).body).to.deep.equal({ id: todo.id, item, status });
    }
  });

  it('a DELETE racing a PATCH leaves no row behind, and the PATCH answers 200 or 404', async () => {
    const [one, two] = urls();
    for (let round = 0; round < 10; round += 1) {
      const { todo } = await createTodo(one, { item: `doomed ${round}` });
      const [patched, deleted] = await Promise.all([
        sendJson(`${one}/todos/${todo.id}`, 'PATCH', { status: 'done' }),
        request(`${two}/todos/${todo.id}`, { method: 'DELETE' }),
      ]);
      expect(deleted.status).to.equal(204);
      expect([200, 404]).to.include(patched.status);
      expect((await request(`${one}/todos/${todo.id}`)).status).to.equal(404);
    }
  });

  describe('with If-Match', () => {
    it('PATCH with the current ETag answers 200 and a new ETag', async () => {
      const [one, two] = urls();
      const { todo, etag } = await createTodo(one, { item: 'conditional' });
      const reply = await sendJson(`${two}/todos/${todo.id}`, 'PATCH', { status: 'done' }, { 'if-match': etag });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ ...todo, status: 'done' });
      expect(reply.headers.get('etag')).to.not.equal(etag);
      expect((await request(`${one}/todos/${todo.id}`)).headers.get('etag')).to.equal(reply.headers.get('etag'));
    });

    it('PATCH with a stale ETag answers 412 with the current ETag and changes nothing', async () => {
      const [one, two] = urls();
      const { todo, etag: stale } = await createTodo(one, { item: 'stale' });
      const current = await sendJson(`${one}/todos/${todo.id}`, 'PATCH', { item: 'moved on' });
      const reply = await sendJson(`${two}/todos/${todo.id}`, 'PATCH', { status: 'done' }, { 'if-match': stale });
      expect(reply.status).to.equal(412);
      expect(reply.headers.get('etag')).to.equal(current.headers.get('etag'));
      expect(reply.body).to.deep.equal({
        error: 'precondition_failed',
        message: `Todo ${todo.id} has changed since the If-Match entity tag was read; GET it again and retry with the current ETag.`,
        requestId: reply.headers.get('x-request-id'),
      });
      expect((await request(`${one}/todos/${todo.id}`)).body).to.deep.equal({ ...todo, item: 'moved on' });
    });

    it('PATCH with If-Match listing the current ETag among others answers 200', async () => {
      const [one, two] = urls();
      const { todo, etag } = await createTodo(one, { item: 'listed tag' });
      const reply = await sendJson(
        `${two}/todos/${todo.id}`,
        'PATCH',
        { item: 'ok' },
        { 'if-match': `"other", ${etag}` },
      );
      expect(reply.status).to.equal(200);
    });

    it('PATCH with the current ETag sent as weak answers 412 (If-Match compares strongly)', async () => {
      const [one, two] = urls();
      const { todo, etag } = await createTodo(one, { item: 'weak' });
      const reply = await sendJson(`${two}/todos/${todo.id}`, 'PATCH', { item: 'no' }, { 'if-match': `W/${etag}` });
      expect(reply.status).to.equal(412);
    });

    it('PATCH with If-Match: * answers 200 for an existing row and 404 for an absent one', async () => {
      const [one, two] = urls();
      const { todo } = await createTodo(one, { item: 'star' });
      expect(
        (await sendJson(`${two}/todos/${todo.id}`, 'PATCH', { status: 'done' }, { 'if-match': '*' })).status,
      ).to.equal(200);
      const absent = await sendJson(`${two}/todos/4294967295`, 'PATCH', { status: 'done' }, { 'if-match': '*' });
      expect(absent.status).to.equal(404);
    });

    it('DELETE with a stale ETag answers 412 and keeps the row; with the current one, 204', async () => {
      const [one, two] = urls();
      const { todo, etag: stale } = await createTodo(one, { item: 'delete carefully' });
      const current = await sendJson(`${one}/todos/${todo.id}`, 'PATCH', { status: 'done' });
      const refused = await request(`${two}/todos/${todo.id}`, { method: 'DELETE', headers: { 'if-match': stale } });
      expect(refused.status).to.equal(412);
      expect(refused.headers.get('etag')).to.equal(current.headers.get('etag'));
      expect((await request(`${one}/todos/${todo.id}`)).status).to.equal(200);
      const deleted = await request(`${two}/todos/${todo.id}`, {
        method: 'DELETE',
        headers: { 'if-match': current.headers.get('etag')! },
      });
      expect(deleted.status).to.equal(204);
      expect((await request(`${one}/todos/${todo.id}`)).status).to.equal(404);
    });

    it('of two workers PATCHing with the same ETag at once, exactly one wins and the other gets 412', async () => {
      const [one, two] = urls();
      const { todo } = await createTodo(one, { item: 'race', status: 'pending' });
      for (let round = 0; round < ROUNDS; round += 1) {
        const etag = (await request(`${one}/todos/${todo.id}`)).headers.get('etag')!;
        const a = { item: `A${round}`, status: 'done' };
        const b = { item: `B${round}`, status: 'pending' };
        const replies: Reply[] = await Promise.all([
          sendJson(`${one}/todos/${todo.id}`, 'PATCH', a, { 'if-match': etag }),
          sendJson(`${two}/todos/${todo.id}`, 'PATCH', b, { 'if-match': etag }),
        ]);
        expect(replies.map((r) => r.status).sort()).to.deep.equal([200, 412]);
        const winner = replies[0]!.status === 200 ? a : b;
        const [won, lost] = replies[0]!.status === 200 ? replies : [replies[1]!, replies[0]!];
        expect(won!.body).to.deep.equal({ id: todo.id, ...winner });
        expect(lost!.headers.get('etag')).to.equal(won!.headers.get('etag'));
        expect((await request(`${two}/todos/${todo.id}`)).body).to.deep.equal({ id: todo.id, ...winner });
      }
    });
  });
});
