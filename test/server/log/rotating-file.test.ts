// The worker's log file: rotated by size with a bounded total, every line kept exactly once across
// rotations, reopened in place, and followed across rotations by `npm run logs`' follower.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LogFollower } from '../../../cluster/log-follow';
import { formatLogLine } from '../../../cluster/log-format';
import { RotatingFile } from '../../../server/log/rotating-file';

function lines(file: string): string[] {
  return fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

describe('RotatingFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-rotating-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rotates before a file passes maxBytes, keeps `keep` old files, and loses no recent line', () => {
    const file = path.join(dir, 'w.log');
    const log = new RotatingFile({ path: file, maxBytes: 2000, keep: 2, bufferChars: 1 << 20 });
    for (let i = 0; i < 600; i += 1) {
      log.write(`{"n":${i}}\n`);
      log.flushSync();
    }
    log.close();
    const names = fs.readdirSync(dir).sort();
    expect(names).to.deep.equal(['w.log', 'w.log.1', 'w.log.2']);
    for (const name of names) expect(fs.statSync(path.join(dir, name)).size).to.be.at.most(2000);
    // Oldest to newest, the kept files hold the last lines written, each once and in order.
    const kept = [...lines(`${file}.2`), ...lines(`${file}.1`), ...lines(file)].map(
      (l) => (JSON.parse(l) as { n: number }).n,
    );
    expect(kept.at(-1)).to.equal(599);
    expect(kept.length).to.be.above(300);
    expect(kept).to.deep.equal(kept.map((_, i) => kept[0]! + i));
  });

  it('keeps every byte of lines that fill several blocks, are longer than a block or are not ASCII', async () => {
    const file = path.join(dir, 'w.log');
    const log = new RotatingFile({ path: file, maxBytes: 1 << 20, keep: 1, bufferChars: 64, flushIntervalMs: 20 });
    const written = ['é'.repeat(40), 'x'.repeat(200), '€ 😀 ü', ...Array.from({ length: 50 }, (_, i) => `line ${i} ñ`)];
    for (const line of written) log.write(`${line}\n`);
    for (const line of written) log.write(`${line}\n`);
    // Written by the chunks in flight and the timer, one write at a time, in order.
    await waitUntil(() => lines(file).length === written.length * 2);
    log.close();
    expect(lines(file)).to.deep.equal([...written, ...written]);
  });

  it('writes asynchronously in chunks, and reopens the path after the file was moved away', async () => {
    const file = path.join(dir, 'w.log');
    const log = new RotatingFile({ path: file, maxBytes: 1 << 20, keep: 1, bufferChars: 64, flushIntervalMs: 20 });
    log.write('first\n');
    await waitUntil(() => lines(file).length === 1);
    fs.renameSync(file, `${file}.moved`);
    log.reopen();
    log.write('second\n');
    await waitUntil(() => lines(file).length === 1);
    log.close();
    expect([lines(`${file}.moved`), lines(file)]).to.deep.equal([['first'], ['second']]);
  });
});

describe('npm run logs (LogFollower, formatLogLine)', () => {
  it('shows the last lines, then follows a file across its rotation without losing a line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-follow-'));
    try {
      const file = path.join(dir, 'w.log');
      fs.writeFileSync(file, 'a\nb\nc\n');
      fs.writeFileSync(`${file}.1`, 'old\n');
      const seen: string[] = [];
      const follower = new LogFollower(dir, { tailLines: 2, onLine: (name, line) => seen.push(`${name}:${line}`) });
      follower.poll();
      fs.appendFileSync(file, 'd\n');
      fs.renameSync(file, `${file}.1`);
      fs.writeFileSync(file, 'e\n');
      follower.poll();
      follower.close();
      expect(seen).to.deep.equal(['w.log:b', 'w.log:c', 'w.log:d', 'w.log:e']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints an access line, an error with its stack, and a plain line readably', () => {
    const access =
      '{"time":"2026-11-26T23:19:24.733Z","level":"info","msg":"request","worker":"kh-worker-8000","requestId":"abc","method":"GET","route":"/todos/:id","status":200,"durationMs":3.4,"poolWaitMs":0.2,"bytes":47,"remote":"127.0.0.1"}';
    const error =
      '{"level":"error","time":"2026-11-26T23:19:25.010Z","worker":"kh-worker-8000","requestId":"bug-7","error":"Error: a bug\\n    at x (a.ts:1:1)","msg":"request failed"}';
    const plain = { color: false };
    expect(formatLogLine('kh-worker-8000', access, plain)).to.equal(
      '23:19:24.733 kh-worker-8000 GET /todos/:id 200 3.4 ms (pool 0.2 ms) 47 B abc',
    );
    expect(formatLogLine('kh-worker-8000', error, plain)).to.equal(
      '23:19:25.010 kh-worker-8000 ERROR request failed requestId=bug-7\n    Error: a bug\n        at x (a.ts:1:1)',
    );
    expect(formatLogLine('kh-mariadb', '2026-11-26 23:19:24 0 [Note] ready', plain)).to.equal(
      'kh-mariadb | 2026-11-26 23:19:24 0 [Note] ready',
    );
    // pm2's copy of an error line (stderr) is left out: the worker's own log has it.
    expect(formatLogLine('kh-worker-8000', error, plain, { pm2Capture: true })).to.equal(undefined);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
