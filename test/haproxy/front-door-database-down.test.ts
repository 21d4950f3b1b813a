// The front door while the database is down: every worker fails /readyz at once, yet the workers are
// alive, so a client of HTTP_PORT gets the workers' own 503 database_unavailable (with Retry-After and
// its request id), not HAProxy's no_worker_available; that one is left for when no worker is alive.
// Real processes: a throwaway MariaDB, HAProxy with the project's config and front door, two workers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { migrate } from '../../cluster/database/migrate';
import { freePort } from '../../cluster/free-port';
import { haproxyServerStates } from '../../cluster/haproxy/stats';
import { generatePassword } from '../../cluster/secrets';
import { loadStackSettings, type StackSettings } from '../../cluster/settings';
import { provisionSecrets } from '../../cluster/secrets';
import { startHaproxy, type HaproxyHandle } from '../support/haproxy';
import { request, sendJson, type Reply } from '../support/http';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';
import { waitFor } from '../support/wait';
import { startWorker, type WorkerHandle } from '../support/worker';

describe('the front door when the database is down', function () {
  this.timeout(90_000);
  let settings: StackSettings;
  let mariadb: MariaDbHandle;
  let haproxy: HaproxyHandle;
  let workers: WorkerHandle[] = [];
  let stateDir: string;
  let frontDoor: string;

  const workerEnv = (port: number): Record<string, string> => ({
    PORT: String(port),
    WORKER_NAME: `test-worker-${port}`,
    HAPROXY_HOST: settings.haproxy.host,
    HAPROXY_PORT: String(settings.haproxy.port),
    DB_USER: settings.database.appUser,
    DB_PASSWORD: settings.database.appPassword,
  });
  const startWorkers = async () => {
    workers = await Promise.all(settings.workers.ports.map((port) => startWorker(workerEnv(port), 60_000)));
  };
  /** The status of every server of one front-door backend, from HAProxy's stats page. */
  const backendStatuses = async (backend: string) =>
    ((await haproxyServerStates(settings)) ?? []).filter((s) => s.proxy === backend).map((s) => s.status);

  before(async function () {
    mariadb = await startMariaDb();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-front-door-db-down-'));
    settings = provisionSecrets(
      loadStackSettings({
        MYSQL_HOST: '127.0.0.1',
        MYSQL_PORT: String(mariadb.port),
        HAPROXY_PORT: String(await freePort()),
        HAPROXY_STATS_PORT: String(await freePort()),
        HTTP_PORT: String(await freePort()),
        WORKER_PORTS: `${await freePort()},${await freePort()}`,
        STACK_DIR: stateDir,
        STACK_NAME: 'test',
        DB_PASSWORD: generatePassword(),
        DB_EXPORTER_PASSWORD: generatePassword(),
      }),
    );
    await migrate(settings, mariadb.admin);
    haproxy = await startHaproxy(settings, { frontDoor: true });
    await startWorkers();
    frontDoor = `http://127.0.0.1:${settings.haproxy.httpPort}`;
    await waitFor(
      'a todo list through the front door',
      async () => ((await request(`${frontDoor}/todos`)).status === 200 ? true : undefined),
      20_000,
      100,
    );
  });

  after(async function () {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await haproxy?.stop();
    await mariadb?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('answers 503 database_unavailable with Retry-After and the request id while no worker is ready', async function () {
    mariadb.kill();
    // Wait until HAProxy has taken every worker out of the ready backend: from then on the old front
    // door answered everything itself with no_worker_available.
    await waitFor(
      'every worker DOWN in the ready backend',
      async () => {
        const statuses = await backendStatuses('workers');
        return statuses.length === 2 && statuses.every((s) => s === 'DOWN') ? true : undefined;
      },
      20_000,
      100,
    );

    const read = await request(`${frontDoor}/todos`, { headers: { 'X-Request-Id': 'db-down-read' } });
    expect(read.status).to.equal(503);
    expect(read.headers.get('retry-after')).to.equal('1');
    expect(read.headers.get('x-request-id')).to.equal('db-down-read');
    expect(read.body).to.deep.equal({
      error: 'database_unavailable',
      message: 'The database is not reachable through HAProxy right now.',
      requestId: 'db-down-read',
    });

    const write = await sendJson(`${frontDoor}/todos`, 'POST', { item: 'while the database is down' });
    expect(write.status).to.equal(503);
    expect(write.headers.get('retry-after')).to.equal('1');
    expect(write.body).to.include({ error: 'database_unavailable', requestId: write.headers.get('x-request-id') });

    // What needs no database is answered as the worker answers it.
    expect((await request(`${frontDoor}/healthz`)).status).to.equal(200);

    // Measured, not asserted: what an answer costs while the database is down.
    const ms: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      expect((await request(`${frontDoor}/todos`)).status).to.equal(503);
      ms.push(performance.now() - started);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `      503 database_unavailable through the front door: median ${ms[10]!.toFixed(1)} ms, max ${ms[19]!.toFixed(1)} ms`,
    );
  });

  it('answers 503 no_worker_available once no worker is alive either', async function () {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    const reply: Reply = await request(`${frontDoor}/todos`, { headers: { 'X-Request-Id': 'no-worker' } });
    expect(reply.status).to.equal(503);
    expect(reply.headers.get('retry-after')).to.equal('1');
    expect(reply.body).to.deep.equal({
      error: 'no_worker_available',
      message: 'No worker is up behind the front door right now; retry shortly.',
      requestId: 'no-worker',
    });
  });

  it('answers 200 again once the database and the workers are back', async function () {
    await mariadb.restart();
    await startWorkers();
    const reply = await waitFor(
      'a todo list through the front door',
      async () => {
        const r = await request(`${frontDoor}/todos`);
        return r.status === 200 ? r : undefined;
      },
      20_000,
      100,
    );
    expect(reply.headers.get('content-type')).to.match(/^application\/json/);
  });
});
