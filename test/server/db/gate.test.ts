// The Gate on its own: a counting semaphore with a bounded queue and a bounded wait. No database.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gate, GateRejectedError, type RejectReason } from '../../../server/db/gate';

/** Lets every queued promise callback run, so the order in which waiters resolved can be read. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function refusal(promise: Promise<void>): Promise<GateRejectedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(GateRejectedError);
    return error as GateRejectedError;
  }
  throw new Error('Expected the gate to refuse, but it let the caller in.');
}

function track(promise: Promise<void>): { state: 'waiting' | 'granted' | RejectReason } {
  const tracked: { state: 'waiting' | 'granted' | RejectReason } = { state: 'waiting' };
  promise.then(
    () => (tracked.state = 'granted'),
    (error: GateRejectedError) => (tracked.state = error.reason),
  );
  return tracked;
}

describe('Gate', () => {
  describe('enter() and leave() with limit 1 and three callers', () => {
    it('counts holding and waiting exactly at each step', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      expect([gate.holding, gate.waiting]).to.deep.equal([0, 0]);

      const first = track(gate.enter());
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
      const second = track(gate.enter());
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 1]);
      const third = track(gate.enter());
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 2]);
      await settle();
      expect([first.state, second.state, third.state]).to.deep.equal(['granted', 'waiting', 'waiting']);

      gate.leave();
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 1]);
      await settle();
      expect([first.state, second.state, third.state]).to.deep.equal(['granted', 'granted', 'waiting']);

      gate.leave();
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
      await settle();
      expect(third.state).to.equal('granted');

      gate.leave();
      expect([gate.holding, gate.waiting]).to.deep.equal([0, 0]);
    });

    it('hands the slot to the oldest waiter first (FIFO)', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      const order: string[] = [];
      await gate.enter();
      const waiters = ['a', 'b', 'c'].map((name) => gate.enter().then(() => order.push(name)));
      for (let i = 0; i < 3; i += 1) {
        gate.leave();
        await settle();
      }
      await Promise.all(waiters);
      expect(order).to.deep.equal(['a', 'b', 'c']);
      gate.leave();
      expect(gate.holding).to.equal(0);
    });

    it('never lets holding dip to 0 while the slot changes hands', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      await gate.enter();
      const seen: number[] = [];
      const next = gate.enter().then(() => seen.push(gate.holding));
      gate.leave();
      seen.push(gate.holding); // right after leave(), before the waiter's callback ran
      await next;
      expect(seen).to.deep.equal([1, 1]);
      // A newcomer arriving during the hand-over queues instead of taking the slot twice.
      const late = track(gate.enter());
      await settle();
      expect(late.state).to.equal('waiting');
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 1]);
      gate.leave();
      await settle();
      expect(late.state).to.equal('granted');
    });
  });

  describe('enter() with limit 3', () => {
    it('admits three at once and queues the fourth', async () => {
      const gate = new Gate({ limit: 3, queueLimit: 1, waitTimeoutMs: 5_000 });
      await Promise.all([gate.enter(), gate.enter(), gate.enter()]);
      expect([gate.holding, gate.waiting]).to.deep.equal([3, 0]);
      const fourth = track(gate.enter());
      expect([gate.holding, gate.waiting]).to.deep.equal([3, 1]);
      gate.leave();
      await settle();
      expect(fourth.state).to.equal('granted');
      expect([gate.holding, gate.waiting]).to.deep.equal([3, 0]);
      gate.leave();
      expect([gate.holding, gate.waiting]).to.deep.equal([2, 0]);
    });
  });

  describe('enter() when the queue is full', () => {
    it('refuses with queue_full at once, without waiting', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 2, waitTimeoutMs: 5_000 });
      await gate.enter();
      track(gate.enter());
      track(gate.enter());
      const started = performance.now();
      const error = await refusal(gate.enter());
      expect(performance.now() - started).to.be.below(20);
      expect(error.reason).to.equal('queue_full');
      expect(error.message).to.equal("The connection pool's wait queue is full (2 waiting).");
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 2]);
    });

    it('refuses every waiter when queueLimit is 0 and the slot is taken', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 0, waitTimeoutMs: 5_000 });
      await gate.enter();
      expect((await refusal(gate.enter())).reason).to.equal('queue_full');
      expect(gate.waiting).to.equal(0);
    });
  });

  describe('enter() when no slot frees within waitTimeoutMs', () => {
    it('refuses with timeout after waitTimeoutMs and removes the waiter', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 50 });
      await gate.enter();
      const started = performance.now();
      const waiter = gate.enter();
      expect(gate.waiting).to.equal(1);
      const error = await refusal(waiter);
      const waited = performance.now() - started;
      expect(waited).to.be.at.least(45).and.below(500);
      expect(error.reason).to.equal('timeout');
      expect(error.message).to.equal('No database connection became free within 50 ms.');
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
    });

    it('never grants the slot to a waiter that timed out', async () => {
      // Wide margins and a wait for the first timeout rather than fixed sleeps: a loaded CI machine can
      // stall timers by tens of ms.
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 400 });
      await gate.enter();
      const early = track(gate.enter()); // times out at ~400 ms
      await sleep(200);
      const later = track(gate.enter()); // times out at ~600 ms
      while (early.state !== 'timeout') await sleep(5);
      expect(later.state).to.equal('waiting');
      expect(gate.waiting).to.equal(1);
      gate.leave();
      await settle();
      expect(later.state).to.equal('granted');
      expect(early.state).to.equal('timeout');
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
      gate.leave();
      expect([gate.holding, gate.waiting]).to.deep.equal([0, 0]);
    });

    it('does not time out a waiter that got the slot in time', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 50 });
      await gate.enter();
      const waiter = track(gate.enter());
      gate.leave();
      await sleep(80);
      expect(waiter.state).to.equal('granted');
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
    });
  });

  describe('enter(signal) when the signal aborts', () => {
    it('refuses with cancelled at once when the signal has already aborted', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 1000 });
      const error = await refusal(gate.enter(AbortSignal.abort()));
      expect(error.reason).to.equal('cancelled');
      expect([gate.holding, gate.waiting]).to.deep.equal([0, 0]);
    });

    it('takes the waiter out of the queue, and the next waiter gets the slot', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 1000 });
      await gate.enter();
      const controller = new AbortController();
      const first = track(gate.enter(controller.signal));
      const second = track(gate.enter());
      expect(gate.waiting).to.equal(2);
      controller.abort();
      await settle();
      expect(first.state).to.equal('cancelled');
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 1]);
      gate.leave();
      await settle();
      expect(second.state).to.equal('granted');
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
    });

    it('ignores an abort after the slot was granted', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 1000 });
      const controller = new AbortController();
      await gate.enter(controller.signal);
      controller.abort();
      await settle();
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
      gate.leave();
      expect(gate.holding).to.equal(0);
    });
  });

  describe('close()', () => {
    it('refuses every waiter and every later enter() with closed; holders may still leave', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      await gate.enter();
      const waiters = [gate.enter(), gate.enter()];
      gate.close();
      for (const waiter of waiters) {
        const error = await refusal(waiter);
        expect(error.reason).to.equal('closed');
        expect(error.message).to.equal('The pool is closing.');
      }
      expect(gate.waiting).to.equal(0);
      const later = await refusal(gate.enter());
      expect(later.reason).to.equal('closed');
      expect(later.message).to.equal('The pool is closed.');
      gate.leave();
      expect(gate.holding).to.equal(0);
      expect((await refusal(gate.enter())).reason).to.equal('closed');
    });
  });

  describe('leave() without enter()', () => {
    it('throws and leaves the counts unchanged', () => {
      const gate = new Gate({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      expect(() => gate.leave()).to.throw(Error, 'Gate.leave() called more often than enter().');
      expect([gate.holding, gate.waiting]).to.deep.equal([0, 0]);
    });
  });

  describe('wait() and leave(handoff): the synchronous hand-over the pool relies on', () => {
    it('calls the waiter inside leave(), with what the holder handed over, and reports the hand-over', () => {
      const gate = new Gate<string>({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      const got: (string | undefined)[] = [];
      gate.wait(
        undefined,
        (handoff) => got.push(handoff),
        () => expect.fail('refused'),
      );
      expect(got).to.deep.equal([undefined]); // free: granted at once, synchronously
      gate.wait(
        undefined,
        (handoff) => got.push(handoff),
        () => expect.fail('refused'),
      );
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 1]);
      expect(gate.leave('connection')).to.equal(true);
      expect(got).to.deep.equal([undefined, 'connection']); // no await in between
      expect([gate.holding, gate.waiting]).to.deep.equal([1, 0]);
      expect(gate.leave('connection')).to.equal(false); // nobody waits: the holder keeps it
      expect([gate.holding, gate.waiting]).to.deep.equal([0, 0]);
    });

    it('resolves enter() with the hand-over, undefined when the slot was free', async () => {
      const gate = new Gate<string>({ limit: 1, queueLimit: 5, waitTimeoutMs: 5_000 });
      expect(await gate.enter()).to.equal(undefined);
      const second = gate.enter();
      gate.leave('connection');
      expect(await second).to.equal('connection');
    });
  });

  describe("join() and unjoin(): requests that share a waiter's turn", () => {
    it('counts them against queueLimit, apart from `waiting`, and refuses past it', async () => {
      const gate = new Gate({ limit: 1, queueLimit: 2, waitTimeoutMs: 5_000 });
      await gate.enter();
      const waiter = track(gate.enter());
      gate.join();
      expect([gate.waiting, gate.joined]).to.deep.equal([1, 1]);
      expect(() => gate.join()).to.throw(GateRejectedError, "The connection pool's wait queue is full (2 waiting).");
      expect((await refusal(gate.enter())).reason).to.equal('queue_full');
      gate.unjoin();
      gate.join();
      gate.unjoin();
      expect(gate.joined).to.equal(0);
      expect(() => gate.unjoin()).to.throw(Error, 'Gate.unjoin() called more often than join().');
      gate.leave();
      await settle();
      expect(waiter.state).to.equal('granted');
      gate.close();
      expect(() => gate.join()).to.throw(GateRejectedError, 'The pool is closed.');
    });
  });

  describe('new Gate(options)', () => {
    const good = { limit: 1, queueLimit: 0, waitTimeoutMs: 1 };
    const bad: [string, Partial<typeof good>, string][] = [
      ['limit 0', { limit: 0 }, 'Gate limit must be a whole number of at least 1.'],
      ['limit NaN', { limit: NaN }, 'Gate limit must be a whole number of at least 1.'],
      ['limit 1.5', { limit: 1.5 }, 'Gate limit must be a whole number of at least 1.'],
      ['queueLimit -1', { queueLimit: -1 }, 'Gate queueLimit must be a whole number, 0 or more.'],
      ['queueLimit NaN', { queueLimit: NaN }, 'Gate queueLimit must be a whole number, 0 or more.'],
      [
        'waitTimeoutMs 0',
        { waitTimeoutMs: 0 },
        'Gate waitTimeoutMs must be from 1 to 2147483647 (what setTimeout accepts).',
      ],
      [
        'waitTimeoutMs NaN',
        { waitTimeoutMs: NaN },
        'Gate waitTimeoutMs must be from 1 to 2147483647 (what setTimeout accepts).',
      ],
      // setTimeout turns anything above 2^31-1 ms into 1 ms: every waiter would time out at once.
      [
        'waitTimeoutMs 2^31',
        { waitTimeoutMs: 2 ** 31 },
        'Gate waitTimeoutMs must be from 1 to 2147483647 (what setTimeout accepts).',
      ],
    ];
    for (const [name, override, message] of bad) {
      it(`throws a TypeError for ${name}`, () => {
        expect(() => new Gate({ ...good, ...override })).to.throw(TypeError, message);
      });
    }

    it('accepts the smallest valid options', () => {
      const gate = new Gate(good);
      expect(gate.limit).to.equal(1);
    });
  });
});
