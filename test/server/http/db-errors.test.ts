import { expect } from 'chai';
import { httpErrorForDb } from '../../../server/http/db-errors';

describe('httpErrorForDb(error)', () => {
  it('answers a Galera node that refuses statements (1047) 503 database_unavailable with Retry-After, not a 500', () => {
    const answer = httpErrorForDb(Object.assign(new Error('WSREP has not yet prepared node for application use'),
      { code: 'ER_UNKNOWN_COM_ERROR', errno: 1047 }));
    expect(answer?.status).to.equal(503);
    expect(answer?.code).to.equal('database_unavailable');
    expect(answer?.headers).to.deep.include({ 'Retry-After': '1' });
  });

  it('leaves an unknown SQL error unmapped (a logged 500)', () => {
    expect(httpErrorForDb(Object.assign(new Error('syntax'), { code: 'ER_PARSE_ERROR', errno: 1064 }))).to.equal(undefined);
  });
});
