// Memory that does not grow with the table: over 1,000,000 rows, a real worker (server/main.ts, its own
// process) serving 16 concurrent page walkers holds one page per request, and its peak RSS stays under
// 150 MB. Before pages, the first GET /todos alone read the whole table (45 MB of JSON, some 2.6 GB of
// RSS under 16 such clients). Speed is the bench's business; only memory and correctness are asserted.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { startTestStack, type TestStack } from '../support/stack';
import type { WorkerHandle } from '../support/worker';
import { readPage, type PageRow } from './page-walk';
import { statusPagePlan } from './page-plan';

const ROWS = 1_000_000;
const WALKERS = 16;
const PAGES_PER_WALKER = 25;
const RSS_LIMIT_MB = 150;

/** A line of /proc/<pid>/status in MB (VmRSS: now; VmHWM: the peak since the process started). */
function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No ${field} in /proc/${pid}/status.`);
  return Number(match[1]) / 1024;
}

describe('GET /todos pages over 1,000,000 rows', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let worker: WorkerHandle;
  let admin: mysql.Connection;

  before(async function () {
    stack = await startTestStack({ workers: 0 });
    admin = await stack.admin();
    // Rows 3..1,000,002 behind the two seed rows, every other one done (a few seconds).
    await admin.query(
      `INSERT INTO todos (item, status) SELECT CONCAT('t', seq), IF(seq % 2, 'done', 'pending') FROM seq_1_to_${ROWS}`,
    );
    worker = await stack.addWorker({ DB_QUEUE_LIMIT: '100' });
  });

  after(async function () {
    await admin?.end();
    await stack?.stop();
  });

  it('answers deep pages like the first, each status page from the index', async () => {
    const deep = await readPage(worker.url, '/todos?limit=3&after=999999');
    expect(deep.rows).to.deep.equal([
      { id: 1_000_000, item: 't999998', status: 'pending' },
      { id: 1_000_001, item: 't999999', status: 'done' },
      { id: 1_000_002, item: 't1000000', status: 'pending' },
    ]);
    expect(deep.next).to.equal(undefined);
    const done = await readPage(worker.url, '/todos?status=done&limit=2&after=500000');
    expect(done.rows.map((row) => row.id)).to.deep.equal([500_001, 500_003]); // id = seq + 2: odd ids are done
    expect(done.next).to.equal('/todos?status=done&limit=2&after=500003');
    // In the middle of the table too: a range from (status, after), not a scan of the status from its start.
    for (const after of [10, 500_000, 999_000]) {
      expect(await statusPagePlan(admin, 'pending', after, 1000)).to.deep.equal({
        access: 'range',
        key: 'todos_status_id',
        keyParts: ['status', 'id'],
        filesort: false,
      });
    }
  });

  it(`keeps the worker under ${RSS_LIMIT_MB} MB RSS while ${WALKERS} clients walk pages at once`, async () => {
    const pid = worker.child.pid!;
    let peak = statusMb(pid, 'VmRSS');
    const over = new AbortController();
    const sampler = setInterval(() => {
      peak = Math.max(peak, statusMb(pid, 'VmRSS'));
      if (peak >= RSS_LIMIT_MB) over.abort(new Error(`The worker's RSS reached ${peak.toFixed(1)} MB.`));
    }, 20);
    // Half follow the Link from the first page, as a plain client does (the default limit); the other
    // half read pages of the largest size from all over the table, so no two of them share a statement.
    const starts = Array.from({ length: WALKERS }, (_, i) => {
      const status = i % 2 === 0 ? '' : 'status=done&';
      return i < WALKERS / 2
        ? `/todos${status ? '?status=done' : ''}`
        : `/todos?${status}limit=1000&after=${(i - WALKERS / 2) * 120_000}`;
    });
    const walk = async (start: string): Promise<PageRow[]> => {
      const rows: PageRow[] = [];
      let path: string | undefined = start;
      for (let page = 0; page < PAGES_PER_WALKER && path !== undefined && !over.signal.aborted; page += 1) {
        const read: { rows: PageRow[]; next?: string } = await readPage(worker.url, path);
        rows.push(...read.rows);
        path = read.next;
      }
      return rows;
    };
    let walks: PageRow[][];
    try {
      walks = await Promise.race([
        Promise.all(starts.map(walk)),
        new Promise<never>((_, reject) =>
          over.signal.addEventListener('abort', () => reject(over.signal.reason as Error)),
        ),
      ]);
    } finally {
      clearInterval(sampler);
    }
    const hwm = statusMb(pid, 'VmHWM');
    console.log(`      worker RSS: peak sampled ${peak.toFixed(1)} MB, VmHWM ${hwm.toFixed(1)} MB`);
    expect(hwm).to.be.below(RSS_LIMIT_MB);
    walks.forEach((rows, i) => {
      const limit = i < WALKERS / 2 ? 100 : 1000;
      expect(rows, starts[i]).to.have.length(limit * PAGES_PER_WALKER);
      for (let k = 1; k < rows.length; k += 1) expect(rows[k]!.id).to.be.above(rows[k - 1]!.id);
      if (i % 2 === 1)
        expect(
          rows.every((row) => row.status === 'done'),
          starts[i],
        ).to.equal(true);
    });
  });
});
