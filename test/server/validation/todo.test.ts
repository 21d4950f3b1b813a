// The pure rules for todo input: ids, POST and PATCH bodies (the GET /todos query: page.test.ts). No server needed.
import { expect } from 'chai';
import { HttpError } from '../../../server/http/errors';
import {
  MAX_TODO_ID,
  parseItem,
  parseNewTodo,
  parseStatus,
  parseTodoId,
  parseTodoPatch,
} from '../../../server/validation/todo';

/** The 400 that `run` throws, as status plus the details the client sees. */
function refusal(run: () => unknown): { status: number; message: string } & Record<string, unknown> {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    const e = error as HttpError;
    return { status: e.status, message: e.message, ...e.details };
  }
  throw new Error('expected a refusal, but the input was accepted');
}

describe('parseTodoId(raw)', () => {
  for (const [raw, expected] of [
    ['1', 1],
    ['42', 42],
    [String(MAX_TODO_ID), MAX_TODO_ID],
  ] as const) {
    it(`accepts "${raw}" as ${expected}`, () => {
      expect(parseTodoId(raw)).to.equal(expected);
    });
  }

  for (const raw of [
    '',
    '0',
    '-1',
    '+1',
    '01',
    '1.5',
    '1.0',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    'abc',
    '1a',
    'Infinity',
    'NaN',
    '١',
  ]) {
    it(`refuses ${JSON.stringify(raw)} with rule positive_integer`, () => {
      const r = refusal(() => parseTodoId(raw));
      expect(r).to.include({ status: 400, parameter: 'id', rule: 'positive_integer' });
      expect(r.message).to.contain('id must be a whole number from 1 to 4294967295');
    });
  }

  for (const raw of [String(MAX_TODO_ID + 1), '99999999999999999999', '9'.repeat(1000)]) {
    it(`refuses ${raw.slice(0, 20)} (${raw.length} digits) with rule range`, () => {
      expect(refusal(() => parseTodoId(raw))).to.include({ status: 400, parameter: 'id', rule: 'range' });
    });
  }

  it('refuses a missing id', () => {
    expect(refusal(() => parseTodoId(undefined))).to.include({ parameter: 'id', rule: 'positive_integer' });
  });
});

describe('parseItem(value)', () => {
  const kept = {
    'one character': 'x',
    'leading and trailing whitespace': '  padded\t',
    'an emoji ZWJ sequence': '👩‍👩‍👧‍👦',
    'right-to-left text': 'שלום עולם',
    'a decomposed accent (not normalised)': 'e\u0301',
    'NUL inside the text': 'a\u0000b',
    '255 ASCII characters': 'a'.repeat(255),
    '255 astral emoji (510 UTF-16 units)': '😀'.repeat(255),
    'a zero-width space (not whitespace to trim())': '\u200B',
  };
  for (const [what, value] of Object.entries(kept)) {
    it(`returns ${what} exactly as given`, () => {
      expect(parseItem(value)).to.equal(value);
    });
  }

  for (const value of [1, true, null, [], {}, undefined]) {
    it(`refuses ${JSON.stringify(value) ?? 'undefined'} with rule string`, () => {
      expect(refusal(() => parseItem(value))).to.include({ status: 400, field: 'item', rule: 'string' });
    });
  }

  for (const value of ['', ' ', '\t\n\r', '\u00A0', '\u3000', '\uFEFF', '\u2028']) {
    it(`refuses ${JSON.stringify(value)} with rule not_blank`, () => {
      expect(refusal(() => parseItem(value))).to.include({ status: 400, field: 'item', rule: 'not_blank' });
    });
  }

  for (const value of ['a'.repeat(256), '😀'.repeat(256), ` ${'a'.repeat(255)}`]) {
    it(`refuses ${[...value].length} code points with rule max_length`, () => {
      const r = refusal(() => parseItem(value));
      expect(r).to.include({ status: 400, field: 'item', rule: 'max_length' });
      expect(r.message).to.contain('item has 256 characters');
    });
  }

  for (const value of ['\uD800', 'a\uDC00', '\uDC00\uD800', '😀'.slice(0, 1)]) {
    it(`refuses the unpaired surrogate in ${JSON.stringify(value)} with rule unicode`, () => {
      expect(refusal(() => parseItem(value))).to.include({ status: 400, field: 'item', rule: 'unicode' });
    });
  }
});

describe('parseStatus(value)', () => {
  it('accepts "pending" and "done"', () => {
    expect(parseStatus('pending')).to.equal('pending');
    expect(parseStatus('done')).to.equal('done');
  });

  for (const value of ['DONE', 'Done', ' done', 'done ', '', 'archived', null, 1, true, ['done']]) {
    it(`refuses ${JSON.stringify(value)} with rule one_of`, () => {
      const r = refusal(() => parseStatus(value));
      expect(r).to.include({ status: 400, field: 'status', rule: 'one_of' });
      expect(r.message).to.contain('status must be one of "pending", "done"');
    });
  }
});

describe('parseNewTodo(body)', () => {
  it('defaults status to pending', () => {
    expect(parseNewTodo({ item: 'x' })).to.deep.equal({ item: 'x', status: 'pending' });
  });

  it('keeps a given status', () => {
    expect(parseNewTodo({ item: 'x', status: 'done' })).to.deep.equal({ item: 'x', status: 'done' });
  });

  for (const body of [null, [], 'x', 1, true, [{ item: 'x' }]]) {
    it(`refuses the body ${JSON.stringify(body)} with rule object`, () => {
      expect(refusal(() => parseNewTodo(body))).to.include({ status: 400, field: 'body', rule: 'object' });
    });
  }

  it('refuses a body without item with rule required', () => {
    expect(refusal(() => parseNewTodo({ status: 'done' }))).to.include({ field: 'item', rule: 'required' });
  });

  it('refuses an explicit null status rather than defaulting it', () => {
    expect(refusal(() => parseNewTodo({ item: 'x', status: null }))).to.include({ field: 'status', rule: 'one_of' });
  });

  for (const key of ['id', 'extra', 'Item', 'item ', '__proto__', 'constructor']) {
    it(`refuses the unknown field ${JSON.stringify(key)} and names it`, () => {
      const body = JSON.parse(`{"item": "x", ${JSON.stringify(key)}: 1}`) as unknown;
      const r = refusal(() => parseNewTodo(body));
      expect(r).to.include({ status: 400, field: key, rule: 'unknown_field' });
    });
  }

  it('names an unknown field by at most 64 characters', () => {
    const r = refusal(() => parseNewTodo({ item: 'x', ['k'.repeat(1000)]: 1 }));
    expect(r).to.include({ field: 'k'.repeat(64), rule: 'unknown_field' });
  });

  it('reports an unknown field before a bad item', () => {
    expect(refusal(() => parseNewTodo({ item: '', nope: 1 }))).to.include({ field: 'nope', rule: 'unknown_field' });
  });
});

describe('parseTodoPatch(body)', () => {
  it('returns only the fields given', () => {
    expect(parseTodoPatch({ status: 'done' })).to.deep.equal({ status: 'done' });
    expect(parseTodoPatch({ item: 'y' })).to.deep.equal({ item: 'y' });
    expect(parseTodoPatch({ item: 'y', status: 'pending' })).to.deep.equal({ item: 'y', status: 'pending' });
  });

  it('refuses an empty object with rule not_empty', () => {
    expect(refusal(() => parseTodoPatch({}))).to.include({ status: 400, field: 'body', rule: 'not_empty' });
  });

  it('refuses null for item (a todo item cannot be removed)', () => {
    expect(refusal(() => parseTodoPatch({ item: null }))).to.include({ field: 'item', rule: 'string' });
  });

  it('refuses an unknown field', () => {
    expect(refusal(() => parseTodoPatch({ status: 'done', done: true }))).to.include({
      field: 'done',
      rule: 'unknown_field',
    });
  });

  it('refuses a non-object body', () => {
    expect(refusal(() => parseTodoPatch(['done']))).to.include({ field: 'body', rule: 'object' });
  });
});
