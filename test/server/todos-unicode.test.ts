// Items round-trip exactly: written through one worker, read through the other and straight from
// MariaDB, byte for byte, whatever Unicode they hold (no trimming, no normalisation, no replacement).
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request } from '../support/http';
import { createTodo, ownStack, send, sendJson, type Todo } from './todos-helpers';

const ITEMS: Record<string, string> = {
  'an emoji': '🥛 buy milk',
  'an emoji ZWJ family, skin tones and a flag': '👨‍👩‍👧‍👦 👍🏽 🇺🇦',
  'Hebrew (right to left)': 'לקנות חלב',
  'Arabic (right to left) mixed with digits and Latin': 'اشترِ ١٢ بيضة from the shop',
  'bidi controls around text': '\u202Bשלום\u202C \u2067abc\u2069 \u200F',
  'CJK and Hangul': '牛乳を買う 우유 사기',
  'a decomposed accent, kept decomposed (NFD)': 'cafe\u0301',
  'the same word composed (NFC)': 'caf\u00E9',
  'leading and trailing whitespace, kept': '  \tindented item \n',
  'a NUL and other control characters': 'a\u0000b\u0007c\u001F',
  'the highest code point and a private-use one': '\u{10FFFF}\uE000',
  'a zero-width space between letters': 'a\u200Bb',
  'a JSON-looking string': '{"item": "not really", "status": "done"}',
  'SQL-looking text': "'); DROP TABLE todos; --",
  '255 ASCII characters': 'x'.repeat(255),
  '255 emoji (1020 bytes, 510 UTF-16 units)': '😀'.repeat(255),
  '255 code points of mixed widths': 'aé€😀'.repeat(63) + 'abc',
  '255 code points of combining marks on one letter': `o${'\u0308'.repeat(254)}`,
};

/** JSON with every non-ASCII UTF-16 unit as a \u escape, so the body itself is pure ASCII. */
function escapedJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007F-\uFFFF]/g,
    (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

describe('/todos Unicode round trip', function () {
  this.timeout(60_000);
  const stack = ownStack();
  let admin: mysql.Connection;

  before(async () => {
    admin = await stack().admin();
  });

  after(async () => {
    await admin?.end();
  });

  /** What MariaDB holds for the row: its bytes in hex and its length in characters. */
  async function stored(id: number): Promise<{ hex: string; chars: number }> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT HEX(item) AS hex, CHAR_LENGTH(item) AS chars FROM test.todos WHERE id = ?',
      [id],
    );
    return { hex: String(rows[0]!.hex).toLowerCase(), chars: Number(rows[0]!.chars) };
  }

  async function expectStoredExactly(id: number, item: string): Promise<void> {
    expect(await stored(id)).to.deep.equal({ hex: Buffer.from(item, 'utf8').toString('hex'), chars: [...item].length });
  }

  for (const [what, item] of Object.entries(ITEMS)) {
    it(`keeps ${what} exactly: POST via worker 1, GET and list via worker 2, and in MariaDB`, async () => {
      const [one, two] = stack().workers.map((w) => w.url);
      const { todo } = await createTodo(one!, { item });
      expect(todo.item).to.equal(item);

      const read = await request(`${two}/todos/${todo.id}`);
      expect(read.status).to.equal(200);
      expect((read.body as Todo).item).to.equal(item);
      const list = (await request(`${two}/todos?after=${todo.id - 1}&limit=1`)).body as Record<
        string,
        { item: string }
      >;
      expect(list[String(todo.id)]!.item).to.equal(item);
      await expectStoredExactly(todo.id, item);
    });
  }

  it('keeps every item exactly through PATCH via worker 2, read via worker 1', async () => {
    const [one, two] = stack().workers.map((w) => w.url);
    const { todo } = await createTodo(one!, { item: 'to be replaced' });
    for (const item of Object.values(ITEMS)) {
      const patched = await sendJson(`${two}/todos/${todo.id}`, 'PATCH', { item });
      expect(patched.status).to.equal(200);
      expect((patched.body as Todo).item).to.equal(item);
      expect(((await request(`${one}/todos/${todo.id}`)).body as Todo).item).to.equal(item);
      await expectStoredExactly(todo.id, item);
    }
  });

  it('reads \\u escapes and raw UTF-8 in the body as the same item', async () => {
    const [one, two] = stack().workers.map((w) => w.url);
    const item = ITEMS['an emoji ZWJ family, skin tones and a flag']!;
    const body = escapedJson({ item });
    expect(body).to.match(/^[\x20-\x7E]+$/);
    const reply = await send(`${one}/todos`, 'POST', body);
    expect(reply.status).to.equal(201);
    const id = (reply.body as Todo).id;
    expect(((await request(`${two}/todos/${id}`)).body as Todo).item).to.equal(item);
    await expectStoredExactly(id, item);
  });

  it('answers the stored UTF-8 bytes themselves, not \\u escapes', async () => {
    const [one, two] = stack().workers.map((w) => w.url);
    const { todo } = await createTodo(one!, { item: 'שלום 😀' });
    const raw = await fetch(`${two}/todos/${todo.id}`);
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.includes(Buffer.from('שלום 😀', 'utf8'))).to.equal(true);
  });
});
