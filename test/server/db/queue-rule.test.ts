// The wait queue's rule as pure logic (admission() in server/db/gate.ts), and the Gate applying it: the
// queue bounds the statements waiting (each one more wait for everyone behind it) apart from the
// requests waiting (each one more client held), and a request that shares a waiting statement (an
// identical or coalesced read) adds a request but no statement. No database.
import { expect } from 'chai';
import { admission, Gate, GateRejectedError } from '../../../server/db/gate';

describe('admission(waiting, joined, options, shares)', () => {
  const defaults = { queueLimit: 1000, statementLimit: 50 };

  it('admits a request of its own while fewer statements than statementLimit wait', () => {
    expect(admission(0, 0, defaults)).to.equal(undefined);
    expect(admission(49, 900, defaults)).to.equal(undefined);
  });

  it('refuses a request of its own once statementLimit statements wait, however few requests share them', () => {
    expect(admission(50, 0, defaults)).to.equal('statements');
    expect(admission(51, 0, defaults)).to.equal('statements');
  });

  it('admits a request sharing a waiting statement whatever the statements, until queueLimit requests wait', () => {
    expect(admission(50, 0, defaults, true)).to.equal(undefined);
    expect(admission(50, 949, defaults, true)).to.equal(undefined);
    expect(admission(50, 950, defaults, true)).to.equal('requests');
    expect(admission(1, 999, defaults, true)).to.equal('requests');
  });

  it('names the request bound first when both are reached (the old rule, when the two limits are equal)', () => {
    expect(admission(2, 0, { queueLimit: 2 })).to.equal('requests');
    expect(admission(1, 1, { queueLimit: 2 }, true)).to.equal('requests');
    expect(admission(1, 0, { queueLimit: 2 })).to.equal(undefined);
  });

  it('never lets statementLimit exceed queueLimit', () => {
    expect(admission(3, 0, { queueLimit: 3, statementLimit: 10 })).to.equal('requests');
    expect(admission(2, 0, { queueLimit: 3, statementLimit: 10 })).to.equal(undefined);
  });

  it('refuses everyone when a limit is 0', () => {
    expect(admission(0, 0, { queueLimit: 0, statementLimit: 0 })).to.equal('requests');
    expect(admission(0, 0, { queueLimit: 5, statementLimit: 0 })).to.equal('statements');
    expect(admission(0, 0, { queueLimit: 5, statementLimit: 0 }, true)).to.equal(undefined);
  });

  describe('64 clients of one worker, each with one request in flight', () => {
    // At most 63 wait while one statement runs. Reads of different ids coalesce into one statement of
    // up to 64 ids (identical /todos into one of any size): the statements waiting stay at 1 or 2.
    it('admits every fast read with the default limits, where the old rule (50 requests) refused 13', () => {
      let refusedNow = 0;
      let refusedOld = 0;
      for (let waiting = 0; waiting < 63; waiting += 1) {
        if (admission(waiting === 0 ? 0 : 1, Math.max(0, waiting - 1), defaults, waiting > 0)) refusedNow += 1;
        if (admission(waiting, 0, { queueLimit: 50 })) refusedOld += 1;
      }
      expect([refusedNow, refusedOld]).to.deep.equal([0, 13]);
    });

    it('still refuses the 51st of a burst of /sleep, each its own statement', () => {
      const answers = Array.from({ length: 60 }, (_, waiting) => admission(waiting, 0, defaults));
      expect(answers.indexOf('statements')).to.equal(50);
      expect(answers.slice(0, 50).every((bound) => bound === undefined)).to.equal(true);
    });
  });
});

describe('Gate with a statementLimit', () => {
  async function refusal(promise: Promise<unknown>): Promise<GateRejectedError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(GateRejectedError);
    return error as GateRejectedError;
  }

  it('refuses the waiter beyond statementLimit with queue_full, naming the statements', async () => {
    const gate = new Gate({ limit: 1, queueLimit: 10, statementLimit: 2, waitTimeoutMs: 5_000 });
    await gate.enter();
    void gate.enter().catch(() => undefined);
    void gate.enter().catch(() => undefined);
    const error = await refusal(gate.enter());
    expect(error).to.include({ reason: 'queue_full', bound: 'statements' });
    expect(error.message).to.equal("The connection pool's wait queue is full (2 statements waiting).");
    expect([gate.holding, gate.waiting]).to.deep.equal([1, 2]);
    gate.close();
  });

  it('lets requests join the waiting statements up to queueLimit, then refuses them naming the requests', async () => {
    const gate = new Gate({ limit: 1, queueLimit: 4, statementLimit: 1, waitTimeoutMs: 5_000 });
    await gate.enter();
    void gate.enter().catch(() => undefined);
    gate.join();
    gate.join();
    gate.join();
    expect([gate.waiting, gate.joined]).to.deep.equal([1, 3]);
    let thrown: unknown;
    try {
      gate.join();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.be.instanceOf(GateRejectedError).and.include({ reason: 'queue_full', bound: 'requests' });
    expect((thrown as Error).message).to.equal("The connection pool's wait queue is full (4 waiting).");
    gate.close();
  });

  it('throws a TypeError for a statementLimit that is not a whole number', () => {
    for (const statementLimit of [-1, 1.5, NaN]) {
      expect(
        () => new Gate({ limit: 1, queueLimit: 1, statementLimit, waitTimeoutMs: 1 }),
        String(statementLimit),
      ).to.throw(TypeError, 'Gate statementLimit must be a whole number, 0 or more.');
    }
  });
});
