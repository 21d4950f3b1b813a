// Every input /sleep/:s must refuse: a 400 naming the rule, no SQL run, the table intact afterwards.
import { expect } from 'chai';
import { request } from '../support/http';
import { sharedStack, type TestStack } from '../support/stack';

const REJECTED = [
  'abc',
  '-1',
  '1e9',
  '0x10',
  'NaN',
  'Infinity',
  '1;DROP TABLE todos',
  '1%20',
  '%201',
  '1.',
  '.',
  '+1',
  '61',
  '60.001',
  '1,5',
  '0b1',
  '1_000',
  '9'.repeat(30),
  "1' OR '1'='1",
  '%00',
];

describe('GET /sleep/:s with bad input', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let base: string;
  let sleepsBefore: number;

  async function sleepQueriesRun(): Promise<number> {
    const metrics = (await request(`${base}/metrics`)).text;
    const counts = [...metrics.matchAll(/^db_query_duration_seconds_count\{[^}]*query="sleep"[^}]*\} (\d+)$/gm)];
    return counts.reduce((sum, match) => sum + Number(match[1]), 0);
  }

  before(async () => {
    stack = await sharedStack();
    base = stack.workers[0]!.url;
    sleepsBefore = await sleepQueriesRun();
  });

  for (const raw of REJECTED) {
    it(`answers 400 naming the rule for "${raw}"`, async () => {
      const reply = await request(`${base}/sleep/${raw.includes('%') ? raw : encodeURIComponent(raw)}`);
      expect(reply.status).to.equal(400);
      const body = reply.body as { error: string; message: string; parameter: string };
      expect(body.error).to.equal('bad_request');
      expect(body.parameter).to.equal('s');
      expect(body.message).to.contain('s must be a decimal number of seconds from 0 to 60');
    });
  }

  for (const path of ['/sleep/', '/sleep']) {
    it(`answers 400 for an empty value (${path})`, async () => {
      const reply = await request(`${base}${path}`);
      expect(reply.status).to.equal(400);
      expect((reply.body as { message: string }).message).to.match(/^Missing seconds: s must be a decimal number/);
    });
  }

  it('leaves the todos table intact afterwards', async () => {
    const admin = await stack.admin();
    try {
      const [tables] = await admin.query("SHOW TABLES FROM test LIKE 'todos'");
      expect(tables).to.have.length(1);
      const reply = await request(`${base}/todos`);
      expect(Object.keys(reply.body as object)).to.include.members(['1', '2']);
    } finally {
      await admin.end();
    }
  });

  it('never ran a sleep query for any rejected value', async () => {
    expect(await sleepQueriesRun()).to.equal(sleepsBefore);
  });
});
