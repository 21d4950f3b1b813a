// The queue bounded by the wait it protects (server/db/queue-rule.ts, issue 16 item 5), as pure logic
// and in the Gate: statements of a kind measured fast count only against DB_QUEUE_LIMIT, every other
// statement against DB_QUEUE_STATEMENT_LIMIT as before, and a stalled running statement makes every
// waiter count again. No database.
import { expect } from 'chai';
import { Gate, GateRejectedError } from '../../../server/db/gate';
import { admission, fastBudgetMs, ServiceTimes, STALL_FACTOR, stalls } from '../../../server/db/queue-rule';

describe('The queue rule by wait (queue-rule.ts)', () => {
  const defaults = { queueLimit: 1000, statementLimit: 50 };

  describe('fastBudgetMs', () => {
    it('is DB_ACQUIRE_TIMEOUT_MS / DB_QUEUE_LIMIT: a queue full of fast statements drains within the timeout', () => {
      expect(fastBudgetMs({ queueLimit: 1000, acquireTimeoutMs: 10_000 })).to.equal(10);
      expect(fastBudgetMs({ queueLimit: 2, acquireTimeoutMs: 1000 })).to.equal(500);
      expect(fastBudgetMs({ queueLimit: 0, acquireTimeoutMs: 1000 })).to.equal(0);
    });
  });

  describe('admission with fast statements waiting', () => {
    it('admits 63 distinct fast statements behind the running one (64 clients of pages), where the count refused 13', () => {
      let refusedNow = 0;
      let refusedOld = 0;
      for (let waiting = 0; waiting < 63; waiting += 1) {
        if (admission(waiting, 0, defaults, false, waiting)) refusedNow += 1;
        if (admission(waiting, 0, defaults)) refusedOld += 1;
      }
      expect([refusedNow, refusedOld]).to.deep.equal([0, 13]);
    });

    it('counts only the statements not measured fast against statementLimit', () => {
      expect(admission(99, 0, defaults, false, 50)).to.equal(undefined);
      expect(admission(100, 0, defaults, false, 50)).to.equal('statements');
      expect(admission(60, 0, defaults, false, 0)).to.equal('statements');
    });

    it('refuses a newcomer of any kind once the slow ones fill their bound (the wait ahead of it is the same)', () => {
      expect(admission(50, 0, defaults, false, 0)).to.equal('statements');
    });

    it('still bounds every request by queueLimit, fast or not', () => {
      expect(admission(999, 0, defaults, false, 999)).to.equal(undefined);
      expect(admission(1000, 0, defaults, false, 1000)).to.equal('requests');
      expect(admission(500, 500, defaults, true, 500)).to.equal('requests');
    });

    it('treats fastWaiting above waiting as waiting (never a negative count)', () => {
      expect(admission(3, 0, { queueLimit: 10, statementLimit: 1 }, false, 5)).to.equal(undefined);
    });
  });

  describe('ServiceTimes', () => {
    it('calls a kind fast only once measured within the budget', () => {
      const times = new ServiceTimes(10);
      expect(times.isFast('page')).to.equal(false);
      expect(times.isFast(undefined)).to.equal(false);
      times.observe('page', 1.2);
      expect(times.isFast('page')).to.equal(true);
      expect(times.estimateMs('page')).to.equal(1.2);
      expect(times.isFast('sleep')).to.equal(false);
    });

    it('turns a kind slow after one long statement and fast again as short ones follow (EWMA)', () => {
      const times = new ServiceTimes(10);
      times.observe('sleep', 0.2);
      expect(times.isFast('sleep')).to.equal(true);
      times.observe('sleep', 1000);
      expect(times.isFast('sleep')).to.equal(false);
      let short = 0;
      while (!times.isFast('sleep')) {
        times.observe('sleep', 0.2);
        short += 1;
      }
      expect(short).to.be.within(10, 20);
    });
  });

  it('stalls once the running statement held the connection STALL_FACTOR budgets', () => {
    expect(STALL_FACTOR).to.equal(10);
    expect(stalls(100, 10)).to.equal(false);
    expect(stalls(100.5, 10)).to.equal(true);
  });
});

describe('Gate with fast waiters', () => {
  async function refusal(promise: Promise<unknown>): Promise<GateRejectedError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(GateRejectedError);
    return error as GateRejectedError;
  }

  function enterFast(gate: Gate, fast: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => gate.wait(undefined, resolve, reject, fast));
  }

  it('lets fast waiters pass statementLimit, up to queueLimit, then refuses by requests', async () => {
    const gate = new Gate({ limit: 1, queueLimit: 5, statementLimit: 2, waitTimeoutMs: 5_000 });
    await gate.enter();
    const waiting = Array.from({ length: 5 }, () => enterFast(gate, true).catch(() => undefined));
    expect(gate.waiting).to.equal(5);
    const error = await refusal(enterFast(gate, true));
    expect(error).to.include({ reason: 'queue_full', bound: 'requests' });
    gate.close();
    await Promise.all(waiting);
  });

  it('refuses a slow statement at statementLimit slow ones, however many fast ones wait', async () => {
    const gate = new Gate({ limit: 1, queueLimit: 100, statementLimit: 2, waitTimeoutMs: 5_000 });
    await gate.enter();
    const waiting = [true, false, true, false, true].map((fast) => enterFast(gate, fast).catch(() => undefined));
    const error = await refusal(enterFast(gate, false));
    expect(error).to.include({ reason: 'queue_full', bound: 'statements' });
    expect(error.message).to.equal("The connection pool's wait queue is full (2 statements waiting).");
    gate.close();
    await Promise.all(waiting);
  });

  it('forgets a fast waiter once it got the slot, so the slow bound is exact again', async () => {
    const gate = new Gate({ limit: 1, queueLimit: 100, statementLimit: 1, waitTimeoutMs: 5_000 });
    await gate.enter();
    const fast = enterFast(gate, true);
    const slow = enterFast(gate, false).catch(() => undefined);
    gate.leave(); // the fast waiter takes the slot; the slow one waits alone
    await fast;
    expect(gate.waiting).to.equal(1);
    expect((await refusal(enterFast(gate, true))).bound).to.equal('statements');
    gate.close();
    await slow;
  });

  it('counts every waiter as slow while the running statement stalls', async () => {
    let stalled = false;
    const gate = new Gate({
      limit: 1,
      queueLimit: 100,
      statementLimit: 3,
      waitTimeoutMs: 5_000,
      stalled: () => stalled,
    });
    await gate.enter();
    const waiting = Array.from({ length: 3 }, () => enterFast(gate, true).catch(() => undefined));
    waiting.push(enterFast(gate, true).catch(() => undefined)); // four fast: more than statementLimit
    stalled = true;
    const error = await refusal(enterFast(gate, true));
    expect(error).to.include({ reason: 'queue_full', bound: 'statements' });
    stalled = false;
    waiting.push(enterFast(gate, true).catch(() => undefined));
    expect(gate.waiting).to.equal(5);
    gate.close();
    await Promise.all(waiting);
  });
});
