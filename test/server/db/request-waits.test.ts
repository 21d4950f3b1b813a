// Which request the pool charges its waits to, without AsyncLocalStorage (server/db/request-waits.ts):
// the request named around the synchronous call that starts the database work, captured when the pool
// is asked, charged whenever the wait ends. No database.
import { expect } from 'chai';
import { chargeWaitsTo, poolWaitRecorder } from '../../../server/db/request-waits';

describe('chargeWaitsTo() and poolWaitRecorder()', () => {
  it('charges the request named at the time the pool was asked, even when the wait ends later', async () => {
    const first = { poolWaitMs: 0 };
    const second = { poolWaitMs: 0 };
    const askedAt = performance.now();
    const chargeFirst = chargeWaitsTo(first, () => poolWaitRecorder());
    const chargeSecond = chargeWaitsTo(second, () => poolWaitRecorder());
    await new Promise((resolve) => setTimeout(resolve, 20));
    chargeSecond(askedAt);
    expect(second.poolWaitMs).to.be.at.least(15);
    expect(first.poolWaitMs).to.equal(0);
    chargeFirst(askedAt);
    expect(first.poolWaitMs).to.be.at.least(15);
  });

  it('charges nobody outside a named call, after it returned, or after it threw', () => {
    const waits = { poolWaitMs: 0 };
    poolWaitRecorder()(performance.now() - 50);
    chargeWaitsTo(waits, () => undefined);
    poolWaitRecorder()(performance.now() - 50);
    expect(() =>
      chargeWaitsTo(waits, () => {
        throw new Error('sync failure');
      }),
    ).to.throw('sync failure');
    poolWaitRecorder()(performance.now() - 50);
    expect(waits.poolWaitMs).to.equal(0);
  });

  it('restores the outer request after a nested call, and lets undefined leave the outer one named', () => {
    const outer = { poolWaitMs: 0 };
    const inner = { poolWaitMs: 0 };
    chargeWaitsTo(outer, () => {
      chargeWaitsTo(inner, () => poolWaitRecorder()(performance.now() - 10));
      chargeWaitsTo(undefined, () => poolWaitRecorder()(performance.now() - 10));
      poolWaitRecorder()(performance.now() - 10);
    });
    expect(inner.poolWaitMs).to.be.at.least(10).and.below(20);
    expect(outer.poolWaitMs).to.be.at.least(20);
  });
});
