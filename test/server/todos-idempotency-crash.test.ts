// Nothing lost, nothing doubled, proven: a burst of POST /todos over both workers while MariaDB is
// SIGKILLed and restarted, from a client that retries every 503, 504, 409 and connection error until it
// gets a 2xx (at most 60 s per request, short backoff). With an Idempotency-Key per request, every
// request ends with exactly one row and one key; without keys, every 201 row is there and the rows beyond
// the 201s are at most the 504 outcome_unknown answers (each of those may or may not have written).
//
// The crash is arranged so that the case keys exist for, "committed, but the client was not told",
// certainly happens instead of by luck (a commit takes well under a millisecond): commits are held on
// the server (BACKUP STAGE BLOCK_COMMIT) until each worker waits in one, HAProxy is frozen (SIGSTOP), the
// commits are let go (they complete; their answers wait in the frozen proxy), each worker's backstop
// gives up on its COMMIT (a 3 s query budget, +1 s) and closes the connection, and only then is MariaDB
// SIGKILLed and HAProxy thawed. (Killing MariaDB alone would not lose those answers: the kernel keeps
// them for the proxy.) Everything else in flight dies mid-transaction, and requests keep arriving while
// MariaDB restarts. On a stack of its own.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

const REQUESTS = 240;
const CONCURRENCY = 24;
const PER_REQUEST_DEADLINE_MS = 60_000;
/** The crash starts once this many requests have their 2xx. */
const CRASH_AFTER = 60;

interface RequestLog {
  tag: string;
  key?: string;
  /** One label per answer, in order: "201", "503 database_unavailable", "504 outcome_unknown", "connection error", ... */
  answers: string[];
  id?: number;
  replayed?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An answer after which the request is sent again with the same key (or, without one, again). */
function retryable(label: string): boolean {
  return /^(503|504|409) /.test(label) || label === 'connection error';
}

async function postUntilDone(urls: string[], index: number, log: RequestLog): Promise<void> {
  const deadline = performance.now() + PER_REQUEST_DEADLINE_MS;
  for (let attempt = 0; performance.now() < deadline; attempt += 1) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (log.key) headers['idempotency-key'] = log.key;
    let label: string;
    try {
      // Retries go to the other worker too, as a client behind the front door would.
      const response = await fetch(`${urls[(index + attempt) % urls.length]}/todos`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ item: log.tag }),
        signal: AbortSignal.timeout(20_000),
      });
      const body = (await response.json()) as { id?: number; error?: string };
      label = response.status < 300 ? String(response.status) : `${response.status} ${body.error}`;
      if (response.status === 201) {
        log.answers.push(label);
        log.id = body.id;
        log.replayed = response.headers.get('idempotent-replayed') === 'true';
        return;
      }
    } catch {
      label = 'connection error';
    }
    log.answers.push(label);
    if (!retryable(label)) return;
    await sleep(Math.min(500, 50 * 2 ** Math.min(attempt, 4)) + Math.random() * 50);
  }
}

interface BurstResult {
  logs: RequestLog[];
  /** How many rows each tag has in test.todos, and their ids. */
  rows: Map<string, number[]>;
}

describe('a burst of POSTs through a MariaDB crash', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let admin: mysql.Connection;
  const counts: Record<string, Record<string, number>> = {};

  before(async function () {
    this.timeout(60_000);
    stack = await startTestStack({
      workers: 2,
      workerEnv: { SLEEP_MAX_SECONDS: '1', DB_QUERY_TIMEOUT_MS: '3000', DB_LOCK_WAIT_TIMEOUT_SECONDS: '1' },
    });
    admin = await stack.admin();
  });

  after(async function () {
    this.timeout(60_000);
    console.log(`      measured: ${JSON.stringify(counts)}`);
    await admin?.end().catch(() => undefined);
    await stack?.stop();
  });

  /**
   * Holds commits until both workers wait in one, freezes HAProxy, lets the commits go, waits for the
   * workers to give up on them, kills MariaDB, thaws HAProxy, and starts MariaDB again on the same datadir. Returns how many writes were waiting to commit.
   */
  async function crashDatabase(): Promise<number> {
    const backup = await stack.admin();
    await backup.query('BACKUP STAGE START');
    await backup.query('BACKUP STAGE BLOCK_COMMIT');
    const waitingCommits = async () =>
      Number(
        (
          await backup.query<mysql.RowDataPacket[]>(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND STATE = 'Waiting for backup lock'",
            [stack.settings.database.appUser],
          )
        )[0][0]!.n,
      );
    const held = await waitFor(
      'a commit waiting on each worker',
      async () => {
        const n = await waitingCommits();
        return n >= stack.workers.length ? n : undefined;
      },
      5_000,
      5,
    );
    stack.haproxy.pause();
    await backup.query('BACKUP STAGE END');
    // Past the workers' backstop for the held COMMITs: 3 s budget + 1 s, from before the hold.
    await sleep(4_500);
    stack.mariadb.kill();
    await backup.end().catch(() => undefined);
    await sleep(50);
    stack.haproxy.resume();
    await sleep(1_000);
    await stack.mariadb.restart();
    return held;
  }

  async function burst(run: string, withKeys: boolean): Promise<BurstResult> {
    const urls = stack.workers.map((worker) => worker.url);
    const logs: RequestLog[] = Array.from({ length: REQUESTS }, (_, i) => ({
      tag: `burst-${run}-${i}`,
      key: withKeys ? `burst-${run}-key-${i}` : undefined,
      answers: [],
    }));
    let next = 0;
    let done = 0;
    let crash: Promise<number> | undefined;
    const client = async () => {
      while (next < logs.length) {
        const index = next++;
        await postUntilDone(urls, index, logs[index]!);
        done += 1;
        if (done === CRASH_AFTER) crash = crashDatabase();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, client));
    counts[run] = { heldCommits: await crash! };
    await admin.end().catch(() => undefined);
    admin = await stack.admin();
    const [found] = await admin.query<mysql.RowDataPacket[]>('SELECT id, item FROM todos WHERE item LIKE ?', [
      `burst-${run}-%`,
    ]);
    const rows = new Map<string, number[]>();
    for (const row of found) rows.set(String(row.item), [...(rows.get(String(row.item)) ?? []), Number(row.id)]);
    return { logs, rows };
  }

  function tally(logs: RequestLog[]): Record<string, number> {
    const tallied: Record<string, number> = { sent: logs.length, attempts: 0, retries: 0 };
    for (const log of logs) {
      tallied.attempts! += log.answers.length;
      tallied.retries! += log.answers.length - 1;
      for (const label of log.answers) tallied[label] = (tallied[label] ?? 0) + 1;
      if (log.replayed) tallied.replayed = (tallied.replayed ?? 0) + 1;
    }
    return tallied;
  }

  async function replayMetric(): Promise<number> {
    let sum = 0;
    for (const worker of stack.workers) {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      sum += Number(/^idempotency_replays_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? NaN);
    }
    return sum;
  }

  it('with an Idempotency-Key per request: every request gets a 2xx and exactly one row and one key, whatever was retried', async () => {
    const { logs, rows } = await burst('keyed', true);
    const tallied = tally(logs);
    const [keyRows] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT idempotency_key, response_body FROM idempotency_keys WHERE idempotency_key LIKE 'burst-keyed-key-%'",
    );
    const keys = new Map(
      keyRows.map((row) => [String(row.idempotency_key), JSON.parse(String(row.response_body)) as { id: number }]),
    );
    const rowsPerTag = [...rows.values()].map((ids) => ids.length);
    counts.keyed = {
      ...counts.keyed,
      ...tallied,
      rows: rowsPerTag.reduce((a, b) => a + b, 0),
      tagsWithOneRow: rowsPerTag.filter((n) => n === 1).length,
      keyRows: keys.size,
    };

    // The crash happened in the middle: some answers were failures, and the stack came back.
    expect(tallied.retries, JSON.stringify(tallied)).to.be.greaterThan(0);
    for (const log of logs) {
      expect(log.answers[log.answers.length - 1], `${log.tag}: ${log.answers.join(', ')}`).to.equal('201');
      // Exactly one row per request, the one its 2xx named, and exactly one key row, storing that id.
      expect(rows.get(log.tag), `${log.tag}: ${log.answers.join(', ')}`).to.deep.equal([log.id]);
      expect(keys.get(log.key!)?.id, log.tag).to.equal(log.id);
    }
    expect(rows.size).to.equal(REQUESTS);

    // A replay is the answer to a retry whose write was already done: its request had an earlier answer
    // that left the outcome open (504 outcome_unknown, or a lost connection). Counted by the workers alike.
    const replayed = logs.filter((log) => log.replayed);
    for (const log of replayed) {
      expect(
        log.answers.slice(0, -1).some((label) => label === '504 outcome_unknown' || label === 'connection error'),
        `${log.tag} was replayed after ${log.answers.join(', ')}`,
      ).to.equal(true);
    }
    expect(await replayMetric()).to.equal(replayed.length);
    // Freezing the proxy around the kill makes "committed but not told" happen: some retries were replays.
    expect(replayed.length, JSON.stringify(tallied)).to.be.greaterThan(0);
  });

  it('without keys: every 201 row is there, and the rows beyond the 201s are at most the outcome_unknown answers', async () => {
    const { logs, rows } = await burst('plain', false);
    const tallied = tally(logs);
    const total = [...rows.values()].reduce((sum, ids) => sum + ids.length, 0);
    const created = logs.filter((log) => log.id !== undefined);
    counts.plain = {
      ...counts.plain,
      ...tallied,
      rows: total,
      tagsWithMoreThanOneRow: [...rows.values()].filter((ids) => ids.length > 1).length,
    };

    expect(tallied.retries, JSON.stringify(tallied)).to.be.greaterThan(0);
    expect(created.length, JSON.stringify(tallied)).to.equal(REQUESTS);
    for (const log of created) expect(rows.get(log.tag), log.tag).to.include(log.id);
    expect(total - created.length, JSON.stringify(counts.plain)).to.be.at.most(tallied['504 outcome_unknown'] ?? 0);
  });
});
