// Cancellation (server/db/cancel-signal.ts): the database layer's signal behaves as an AbortSignal does for
// the uses it has, and the layer still takes a real AbortSignal.
import { expect } from 'chai';
import { Cancellation, type CancelSignal } from '../../../server/db/cancel-signal';

describe('Cancellation: an AbortSignal without an EventTarget', () => {
  it('runs each listener once, in the order added, on the first abort() only', () => {
    const cancel = new Cancellation();
    const calls: string[] = [];
    cancel.signal.addEventListener('abort', () => calls.push('a'), { once: true });
    cancel.signal.addEventListener('abort', () => calls.push('b'));
    expect(cancel.signal.aborted).to.equal(false);
    cancel.abort();
    cancel.abort();
    expect(cancel.signal.aborted).to.equal(true);
    expect(calls).to.deep.equal(['a', 'b']);
  });

  it('never runs a removed listener, nor one added after the abort (as AbortSignal)', () => {
    for (const make of [() => new Cancellation(), () => new AbortController()]) {
      const cancel = make();
      const calls: string[] = [];
      const removed = () => calls.push('removed');
      cancel.signal.addEventListener('abort', removed);
      cancel.signal.addEventListener('abort', () => calls.push('kept'));
      cancel.signal.removeEventListener('abort', removed);
      cancel.abort();
      cancel.signal.addEventListener('abort', () => calls.push('late'));
      expect(calls, make.name).to.deep.equal(['kept']);
    }
  });

  it('runs every listener although one throws, then throws its error', () => {
    const cancel = new Cancellation();
    const calls: string[] = [];
    cancel.addEventListener('abort', () => {
      calls.push('first');
      throw new Error('boom');
    });
    cancel.addEventListener('abort', () => calls.push('second'));
    expect(() => cancel.abort()).to.throw('boom');
    expect(calls).to.deep.equal(['first', 'second']);
  });

  it('is what the database layer takes, and so is an AbortSignal', () => {
    const signals: CancelSignal[] = [new Cancellation(), AbortSignal.abort()];
    expect(signals.map((signal) => signal.aborted)).to.deep.equal([false, true]);
  });
});
