// TurnCache (server/todos/turn-cache.ts): what one read batch's members share lives until the turn ends.
import { expect } from 'chai';
import { TurnCache } from '../../server/todos/turn-cache';

describe('TurnCache: entries for one turn of the event loop', () => {
  it('keeps entries through the microtasks of the turn and drops them by the next one', async () => {
    const cache = new TurnCache<object, string>();
    const key = {};
    cache.set(key, 'encoded');
    await Promise.resolve();
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(cache.get(key)).to.equal('encoded');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(cache.get(key)).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });

  it('keeps every entry of the turn, and starts over in the next', async () => {
    const cache = new TurnCache<number, number>();
    for (let i = 0; i < 5; i += 1) cache.set(i, i * i);
    expect(cache.size).to.equal(5);
    await new Promise<void>((resolve) => setImmediate(resolve));
    cache.set(7, 49);
    expect([cache.size, cache.get(7), cache.get(2)]).to.deep.equal([1, 49, undefined]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(cache.size).to.equal(0);
  });
});
