// Every test that failed and then passed on mocha's retry (.mocharc.json `retries`), named with its first
// error at the end of the run, so an intermittent failure is seen and read instead of hidden. The tests
// start real MariaDB, HAProxy, pm2 and Galera processes on a shared two-core machine, where a timing
// margin is sometimes missed; one retry keeps such a miss from failing a run, and this list keeps it on
// record (docs/testing.md, "Retries"). A test that fails on its retry too fails the run as before.
import Mocha from 'mocha';

const firstErrors = new Map<string, string>();
const passedOnRetry: string[] = [];

// Mocha tells of a retry only through its runner's `retry` event (the try's error is not kept on the
// test), and the command line does not hand the runner to root hooks: listen where every runner emits.
const emit = Mocha.Runner.prototype.emit;
Mocha.Runner.prototype.emit = function (this: Mocha.Runner, event: string | symbol, ...args: unknown[]) {
  if (event === Mocha.Runner.constants.EVENT_TEST_RETRY) {
    const [test, error] = args as [Mocha.Test, unknown];
    const message = error instanceof Error ? error.message : String(error);
    if (!firstErrors.has(test.fullTitle())) firstErrors.set(test.fullTitle(), message.split('\n')[0]!.slice(0, 300));
  }
  return emit.call(this, event as string, ...args);
} as typeof emit;

/** Called after every try of every test: notes a retry that passed. */
export function recordTry(test: Mocha.Test | undefined): void {
  // currentRetry() is public in mocha's API; @types/mocha marks it protected.
  const retry = (test as unknown as { currentRetry(): number } | undefined)?.currentRetry() ?? 0;
  if (test && test.state === 'passed' && retry > 0) passedOnRetry.push(test.fullTitle());
}

/** The run's record of tests that passed only on a retry ("" when there was none). */
export function retriedReport(): string {
  if (passedOnRetry.length === 0) return '';
  const lines = passedOnRetry.map((title) => `:::   ${title}\n:::     first try: ${firstErrors.get(title) ?? '?'}`);
  return [`::: ${passedOnRetry.length} test(s) passed only on a retry:`, ...lines].join('\n');
}
