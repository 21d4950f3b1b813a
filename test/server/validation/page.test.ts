// The pure rules for the query of GET /todos: status, limit and after. No server needed.
import { expect } from 'chai';
import { HttpError } from '../../../server/http/errors';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, parsePageQuery } from '../../../server/validation/page';

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

describe('parsePageQuery(query)', () => {
  it('gives the first page of the default size for no parameters', () => {
    expect(parsePageQuery({})).to.deep.equal({ after: 0, limit: DEFAULT_PAGE_LIMIT });
    expect(DEFAULT_PAGE_LIMIT).to.equal(100);
    expect(MAX_PAGE_LIMIT).to.equal(1000);
  });

  it('accepts status=done and status=pending', () => {
    expect(parsePageQuery({ status: 'done' })).to.deep.equal({ status: 'done', after: 0, limit: 100 });
    expect(parsePageQuery({ status: 'pending' })).to.deep.equal({ status: 'pending', after: 0, limit: 100 });
  });

  it('accepts limit from 1 to 1000 and after from 0 to 4294967295', () => {
    expect(parsePageQuery({ limit: '1', after: '0' })).to.deep.equal({ after: 0, limit: 1 });
    expect(parsePageQuery({ limit: '1000', after: '4294967295', status: 'done' })).to.deep.equal({
      status: 'done',
      after: 4294967295,
      limit: 1000,
    });
  });

  for (const status of ['', 'DONE', 'all', 'done,pending']) {
    it(`refuses status=${status} with rule one_of`, () => {
      expect(refusal(() => parsePageQuery({ status }))).to.include({
        status: 400,
        parameter: 'status',
        rule: 'one_of',
      });
    });
  }

  for (const [limit, rule] of [
    ['', 'positive_integer'],
    ['0', 'positive_integer'],
    ['-1', 'positive_integer'],
    ['+5', 'positive_integer'],
    ['05', 'positive_integer'],
    ['1.5', 'positive_integer'],
    ['1e2', 'positive_integer'],
    [' 5', 'positive_integer'],
    ['ten', 'positive_integer'],
    ['1001', 'range'],
    ['99999999999999999999999', 'range'],
  ] as const) {
    it(`refuses limit=${JSON.stringify(limit)} with rule ${rule}`, () => {
      const refused = refusal(() => parsePageQuery({ limit }));
      expect(refused).to.include({ status: 400, parameter: 'limit', rule });
      expect(refused.message).to.contain('limit must be a whole number from 1 to 1000 (default 100)');
    });
  }

  for (const [after, rule] of [
    ['', 'non_negative_integer'],
    ['-1', 'non_negative_integer'],
    ['00', 'non_negative_integer'],
    ['01', 'non_negative_integer'],
    ['1.0', 'non_negative_integer'],
    ['0x10', 'non_negative_integer'],
    ['abc', 'non_negative_integer'],
    ['4294967296', 'range'],
    ['1'.repeat(400), 'range'],
  ] as const) {
    it(`refuses after=${JSON.stringify(after.slice(0, 20))} with rule ${rule}`, () => {
      const refused = refusal(() => parsePageQuery({ after }));
      expect(refused).to.include({ status: 400, parameter: 'after', rule });
      expect(refused.message).to.contain('after must be a todo id from 0 to 4294967295');
    });
  }

  for (const name of ['status', 'limit', 'after']) {
    it(`refuses ${name} given twice with rule single`, () => {
      expect(refusal(() => parsePageQuery({ [name]: ['1', '1'] }))).to.include({ parameter: name, rule: 'single' });
    });
  }

  it('refuses an unknown parameter and names it', () => {
    const refused = refusal(() => parsePageQuery({ offset: '100' }));
    expect(refused).to.include({ parameter: 'offset', rule: 'unknown_parameter' });
    expect(refused.message).to.equal(
      'Unknown query parameter "offset": GET /todos takes only status, limit and after.',
    );
  });
});
