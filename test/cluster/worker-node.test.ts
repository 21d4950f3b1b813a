// The stack's Node processes run on the Node binary that ran the first pm2 command of its PM2_HOME: the
// workers are in cluster mode, forked by pm2's daemon (which pm2's CLI spawns with its own
// process.execPath), and the other Node apps get process.execPath as their interpreter (cluster/ecosystem.ts).
// So running this file with another Node tests the tier on that Node line: CI does so for every LTS line
// other than the machine's (.ci/node-lines.sh). Isolated PM2_HOME, state folder and ports, as in
// pm2-stack.test.ts.
import fs from 'node:fs';
import { expect } from 'chai';
import { request } from '../support/http';
import { isolatedEnv, jlist, PM2_BIN, run } from '../support/pm2-env';

async function waitForMetrics(url: string, deadlineMs: number): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const reply = await request(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (reply?.status === 200) return reply.text;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe('pm2 start ecosystem.config.js run by a given node', function () {
  this.timeout(240_000);
  let env: NodeJS.ProcessEnv;
  let ports: number[];
  let home: string;

  before(async function () {
    ({ env, ports, home } = await isolatedEnv('node-line'));
    const started = await run([PM2_BIN, 'start', 'ecosystem.config.js'], env);
    expect(started.code, started.output).to.equal(0);
  });

  after(async function () {
    await run([PM2_BIN, 'kill'], env, 60_000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it(`runs every worker and Node app on that binary (${process.version}), as /proc/<pid>/exe and /metrics say`, async function () {
    const texts = await Promise.all(ports.map((port) => waitForMetrics(`http://127.0.0.1:${port}/metrics`, 150_000)));
    for (const text of texts) {
      const line = text.split('\n').find((row) => row.startsWith('nodejs_version_info{'));
      expect(line, 'nodejs_version_info in /metrics').to.include(`version="${process.version}"`);
    }
    const apps = await jlist(env);
    const workers = apps.filter((app) => app.name.includes('-worker-'));
    expect(workers.map((app) => app.pm2_env.status)).to.deep.equal(ports.map(() => 'online'));
    // HAProxy is the one app that is not Node (interpreter 'none').
    const nodeApps = apps.filter((app) => (app.pm2_env as { exec_interpreter?: string }).exec_interpreter !== 'none');
    expect(nodeApps.length).to.equal(workers.length + 1);
    const node = fs.realpathSync(process.execPath);
    for (const app of nodeApps) expect(fs.realpathSync(`/proc/${app.pid}/exe`), app.name).to.equal(node);
  });
});
