// What the database layer listens to for "nobody waits for this any more": the part of AbortSignal it uses
// (aborted, and 'abort' listeners added and removed), so any AbortSignal still works, and Cancellation, a
// plain implementation for the worker's own signals (a request's client gone, a read batch's members all
// gone). Node's AbortController is an EventTarget: making one and adding and removing a listener cost
// about 15 us of each database request at one connection, more than everything else of ours on its
// path (issue 16 item 6, bench/README.md); a request makes two (its client's, its read batch's) and
// listens on each at three places (queue, batch, statement).

export type AbortListener = () => void;

export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/**
 * A signal and its abort() in one object. Like an AbortSignal, it runs each listener once, in the order
 * added, when abort() is first called, and never a listener added after that; unlike one, it makes no
 * Event and needs no EventTarget. Each listener runs once (every user here adds with `once`).
 */
export class Cancellation implements CancelSignal {
  private abortedNow = false;
  private listeners: AbortListener[] = [];

  get aborted(): boolean {
    return this.abortedNow;
  }

  /** The signal, for code written against AbortController (`controller.signal`). */
  get signal(): CancelSignal {
    return this;
  }

  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (!this.abortedNow) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }

  abort(): void {
    if (this.abortedNow) return;
    this.abortedNow = true;
    const listeners = this.listeners;
    this.listeners = [];
    // As an EventTarget does, one listener's exception does not keep the others from running.
    let failure: { error: unknown } | undefined;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}
