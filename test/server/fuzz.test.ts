// Property-based fuzzing of every route with fast-check, as raw bytes over a socket against live workers
// (a stack of its own: real MariaDB, HAProxy, two worker processes): random methods, targets
// (percent-encoding, dot segments, very long, bytes that are not UTF-8), query strings, headers
// (duplicates, huge values, odd Content-Type, Transfer-Encoding with Content-Length, bad chunk sizes),
// bodies (malformed and deeply nested JSON, NUL bytes, invalid UTF-8, huge numbers, 10 MB) and malformed
// request heads. After every request: no 5xx (but 501 for a method no route implements, by design), an
// answer unless the request was cut off, no hang, no error in the worker's log, the worker alive and
// answering /healthz, and every change to test.todos carried by a 2xx answer (a refused request changes
// nothing, AUTO_INCREMENT included). Requests built to be invalid must be answered 4xx.
//
// Reproduce a failure with the seed and path it prints: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx mocha test/server/fuzz.test.ts
// (FUZZ_RUNS=<n> runs more or fewer cases; the default is 500).
import { expect } from 'chai';
import fc from 'fast-check';
import type mysql from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from '../support/http';
import type { WorkerHandle } from '../support/worker';
import { sendRaw, type RawExchange, type RawResponse } from './fuzz/raw-http';
import { describeRequest, fuzzRequest, ROUTER_METHODS, serialize, type FuzzRequest } from './fuzz/requests';
import { ownStack, tableState, type TableState, type Todo } from './todos-helpers';

const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const SEED =
  process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH || undefined;
/** The whole run (with shrinking) stops here; the cases run so far still count. */
const TIME_LIMIT_MS = 90_000;
/** Longer than any answer takes: past it, a connection that neither answered nor closed is a hang. */
const ANSWER_TIMEOUT_MS = 8_000;
/** How long a cut-off request may take to be answered before the client half-closes. */
const CUT_OFF_WAIT_MS = 150;

// Sent after each request on the same connection: its answer (or the close) shows the server is done
// with the fuzzed bytes, without waiting for a keep-alive timeout.
const SENTINEL_ID = 'fuzz-sentinel';
const SENTINEL = Buffer.from(
  `GET /healthz HTTP/1.1\r\nHost: fuzz\r\nX-Request-Id: ${SENTINEL_ID}\r\nConnection: close\r\n\r\n`,
);
const isSentinel = (response: RawResponse) => response.headers['x-request-id'] === SENTINEL_ID;

function asTodo(body: Buffer): Todo | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as Partial<Todo>;
    return typeof value.id === 'number' && typeof value.item === 'string' && typeof value.status === 'string'
      ? { id: value.id, item: value.item, status: value.status }
      : undefined;
  } catch {
    return undefined;
  }
}

const sameRow = (a: Todo, b: Todo) => a.id === b.id && a.item === b.item && a.status === b.status;

/** The changes from `before` to `after` that no 2xx answer on the connection accounts for. */
function unexplainedChanges(before: TableState, after: TableState, responses: RawResponse[]): string[] {
  const created = responses
    .filter((r) => r.status === 201)
    .map((r) => asTodo(r.body))
    .filter((t) => t !== undefined);
  const written = responses
    .filter((r) => r.status === 200 || r.status === 201)
    .map((r) => asTodo(r.body))
    .filter((t) => t !== undefined);
  const deletes = responses.filter((r) => r.status === 204).length;
  const problems: string[] = [];
  if (after.autoIncrement !== before.autoIncrement + created.length) {
    problems.push(
      `AUTO_INCREMENT went from ${before.autoIncrement} to ${after.autoIncrement} with ${created.length} todo(s) answered 201`,
    );
  }
  const old = new Map(before.rows.map((row) => [row.id, row]));
  for (const row of after.rows) {
    const previous = old.get(row.id);
    if (previous && sameRow(previous, row)) continue;
    if (!written.some((todo) => sameRow(todo, row))) {
      problems.push(
        previous
          ? `row ${JSON.stringify(previous)} became ${JSON.stringify(row)} with no 2xx answer carrying it`
          : `row ${JSON.stringify(row)} appeared with no 201 answer carrying it`,
      );
    }
  }
  const kept = new Set(after.rows.map((row) => row.id));
  const removed = before.rows.filter((row) => !kept.has(row.id));
  if (removed.length > deletes)
    problems.push(
      `${removed.length} row(s) deleted (${removed.map((r) => r.id).join(', ')}) with ${deletes} answer(s) 204`,
    );
  return problems;
}

/** Problems in the worker's own output since `from`: errors, 5xx in its access log, anything not JSON. */
function logProblems(output: string): string[] {
  const problems: string[] = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    let entry: { level?: string; msg?: string; status?: number; method?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      problems.push(`the worker printed: ${line.slice(0, 300)}`);
      continue;
    }
    if (entry.level === 'error' || entry.level === 'fatal') problems.push(`the worker logged: ${line.slice(0, 500)}`);
    if (
      entry.msg === 'request' &&
      (entry.status ?? 0) >= 500 &&
      !(entry.status === 501 && !ROUTER_METHODS.includes(entry.method ?? ''))
    ) {
      problems.push(`the worker answered ${entry.status}: ${line.slice(0, 300)}`);
    }
  }
  return problems;
}

const alive = (worker: WorkerHandle) => worker.child.exitCode === null && worker.child.signalCode === null;

describe('fuzzing every route (fast-check, raw HTTP against live workers)', function () {
  this.timeout(TIME_LIMIT_MS + 60_000);
  const stack = ownStack();
  let admin: mysql.Connection;
  let table: TableState | undefined;
  let cases = 0;
  let dead: string | undefined;
  /** How often each first answer came, per family (printed with FUZZ_VERBOSE=1). */
  const tally = new Map<string, number>();

  before(async () => {
    admin = await stack().admin();
  });

  after(async () => {
    await admin?.end();
  });

  /** Sends one request and returns what is wrong with how the worker handled it (nothing, ideally). */
  async function check(req: FuzzRequest): Promise<string[]> {
    const worker = stack().workers[req.worker]!;
    const { bytes, cutOff } = serialize(req);
    const upgrade = req.headers.some(([name]) => name.toLowerCase() === 'upgrade');
    const sentMethod = bytes.subarray(0, Math.max(0, bytes.indexOf(' '))).toString('latin1');
    const before = table ?? (await tableState(admin));
    const logFrom = worker.output().length;

    const exchange: RawExchange = await sendRaw(worker.port, cutOff ? bytes : Buffer.concat([bytes, SENTINEL]), {
      timeoutMs: ANSWER_TIMEOUT_MS,
      firstIsHead: sentMethod === 'HEAD',
      ...(cutOff ? { endAfterMs: CUT_OFF_WAIT_MS } : {}),
      // With Upgrade, Node stops parsing the connection after the request: the sentinel is never read.
      stopWhen: (responses) => responses.some(isSentinel) || (upgrade && responses.length > 0),
    });
    const answers = exchange.responses.filter((r) => !isSentinel(r));
    const key = `${req.family} ${answers[0]?.status ?? (exchange.closed ? 'closed' : 'open')}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    const problems: string[] = [];
    if (!exchange.closed && !exchange.stopped)
      problems.push(`no answer and no close within ${ANSWER_TIMEOUT_MS} ms (a hang)`);
    // Only a request cut off by the client, or an HTTP/2 preface (PRI), may be dropped without an answer;
    // and a body past the limit on a connection that closes after the answer (`Connection: close`,
    // HTTP/1.0): Node closes right after the early 413, and the bytes still arriving reset the connection,
    // which can take the answer with it (a known limit: no lingering close).
    const closesAfter =
      req.headers.some(([name, value]) => /^connection$/i.test(name) && /close/i.test(value)) ||
      !bytes.subarray(0, bytes.indexOf('\r\n')).toString('latin1').endsWith(' HTTP/1.1');
    const bigBody = bytes.length - bytes.indexOf('\r\n\r\n') > 16_384;
    if (answers.length === 0 && !cutOff && sentMethod !== 'PRI' && !(closesAfter && bigBody))
      problems.push('the connection closed without an answer');
    for (const r of exchange.responses) {
      if (r.status >= 500 && !(r.status === 501 && !ROUTER_METHODS.includes(sentMethod)))
        problems.push(`answered ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
    }
    if (req.family === 'refused' && answers[0] && (answers[0].status < 400 || answers[0].status > 499)) {
      problems.push(
        `a request invalid by construction was answered ${answers[0].status}: ${answers[0].body.toString('utf8').slice(0, 300)}`,
      );
    }

    if (!alive(worker)) {
      dead = `worker ${req.worker + 1} exited (${worker.child.exitCode ?? worker.child.signalCode}):\n${worker.output().slice(-3000)}`;
      return [...problems, dead];
    }
    const health = await request(`${worker.url}/healthz`).catch((error: Error) => ({ status: 0, text: error.message }));
    if (health.status !== 200)
      problems.push(`GET /healthz then answered ${health.status}: ${health.text.slice(0, 200)}`);

    const after = await tableState(admin);
    // A cut-off request that got no answer may have been complete, and run: nobody can tell what it did.
    // One built to be refused must not have changed anything even then.
    if (!(cutOff && answers.length === 0 && req.family === 'random'))
      problems.push(...unexplainedChanges(before, after, exchange.responses));
    table = after;
    problems.push(...logProblems(worker.output().slice(logFrom)));
    return problems;
  }

  it(`survives ${RUNS} random requests: never 5xx, a crash or a hang, and a refused request changes nothing`, async () => {
    const property = fc.asyncProperty(fuzzRequest, async (req) => {
      // After a crash every further run would fail too: keep the first counterexample instead of shrinking onto noise.
      if (dead) return;
      cases += 1;
      const problems = await check(req);
      if (problems.length > 0) {
        const { bytes } = serialize(req);
        throw new Error(`${problems.join('\n')}\n${describeRequest(req, bytes)}`);
      }
    });
    const details = await fc.check(property, {
      numRuns: RUNS,
      seed: SEED,
      ...(PATH ? { path: PATH } : {}),
      plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
    });
    if (details.failed) {
      const rerun = `Rerun: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} npx mocha test/server/fuzz.test.ts`;
      const cause =
        details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(
        `${fc.defaultReportMessage(details) ?? 'The fuzz failed.'}\n\nWhat went wrong (for the counterexample):\n${cause}\n\n${rerun}`,
      );
    }
    if (process.env.FUZZ_VERBOSE) console.log(`seed ${SEED}, ${cases} cases:`, Object.fromEntries([...tally].sort()));
    expect(cases, `only ${cases} cases ran within ${TIME_LIMIT_MS} ms (seed ${SEED})`).to.be.at.least(
      Math.min(RUNS, 100),
    );
  });

  it('leaves both workers running, serving and with no error in their logs', async () => {
    await sleep(200);
    for (const worker of stack().workers) {
      expect(alive(worker), dead).to.equal(true);
      expect((await request(`${worker.url}/readyz`)).status).to.equal(200);
      expect(logProblems(worker.output())).to.deep.equal([]);
    }
  });
});
