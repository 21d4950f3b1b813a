import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { loadStackSettings, type StackSettings } from '../../cluster/settings';
import { freePort } from '../../cluster/free-port';
import { startHaproxy, type HaproxyHandle } from '../support/haproxy';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';

/** One column (e.g. `status`, `check_status`) of backend mysql's server mysql1 in the stats CSV. */
async function serverColumn(settings: StackSettings, column: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${settings.haproxy.statsPort}/stats;csv`);
  const [header, ...lines] = (await response.text()).trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  const row = lines.map((line) => line.split(',')).find((cells) => cells[0] === 'mysql' && cells[1] === 'mysql1');
  return row?.[columns.indexOf(column)] ?? 'missing';
}

async function waitForColumn(
  settings: StackSettings,
  column: string,
  wanted: string,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let value = await serverColumn(settings, column);
  while (value !== wanted && Date.now() < deadline) {
    await sleep(100);
    value = await serverColumn(settings, column);
  }
  return value;
}

describe('haproxy/haproxy.cfg in front of MariaDB', function () {
  let db: MariaDbHandle;
  let haproxy: HaproxyHandle;
  let settings: StackSettings;

  function connectThroughProxy(): Promise<mysql.Connection> {
    return mysql.createConnection({
      host: settings.haproxy.host,
      port: settings.haproxy.port,
      user: settings.database.appUser,
      password: settings.database.appPassword,
    });
  }

  before(async function () {
    db = await startMariaDb();
    settings = loadStackSettings({
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(db.port),
      HAPROXY_PORT: String(await freePort()),
      HAPROXY_STATS_PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      DB_PASSWORD: 'haproxy-test-app',
      DB_EXPORTER_PASSWORD: 'haproxy-test-exporter',
    });
    await migrate(settings, db.admin);
    haproxy = await startHaproxy(settings);
  });

  after(async function () {
    await haproxy?.stop();
    await db?.stop();
  });

  it('answers on the front door, with no worker up, 503 no_worker_available as JSON with the request id', async function () {
    const given = await fetch(`http://127.0.0.1:${settings.haproxy.httpPort}/todos`, {
      headers: { 'X-Request-Id': 'front-door-42' },
    });
    expect(given.status).to.equal(503);
    expect(given.headers.get('content-type')).to.equal('application/json');
    expect(given.headers.get('retry-after')).to.equal('1');
    expect(await given.json()).to.deep.equal({
      error: 'no_worker_available',
      message: 'No worker is up behind the front door right now; retry shortly.',
      requestId: 'front-door-42',
    });
    expect(given.headers.get('x-request-id')).to.equal('front-door-42');
    const generated = await fetch(`http://127.0.0.1:${settings.haproxy.httpPort}/todos`, {
      headers: { 'X-Request-Id': 'not valid' },
    });
    const body = (await generated.json()) as { requestId: string };
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    expect(body.requestId).to.equal(generated.headers.get('x-request-id'));
  });

  it('lets the app user run SELECT 1 on the MariaDB behind the listener', async function () {
    const connection = await connectThroughProxy();
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        'SELECT 1 AS one, @@port AS port, CURRENT_USER() AS user',
      );
      expect(rows.map((row) => ({ ...row }))).to.deep.equal([{ one: 1, port: db.port, user: 'haproxy_user@%' }]);
    } finally {
      await connection.end();
    }
  });

  it('serves haproxy_server_* series for backend mysql on /metrics of the stats port', async function () {
    const response = await fetch(`http://127.0.0.1:${settings.haproxy.statsPort}/metrics`);
    const body = await response.text();
    expect(response.status).to.equal(200);
    expect(body.split('\n')).to.include('haproxy_server_status{proxy="mysql",server="mysql1",state="UP"} 1');
    expect(body.split('\n')).to.include('haproxy_server_max_queue{proxy="mysql",server="mysql1"} 0');
  });

  it('reports the server UP in the stats CSV while MariaDB answers the check', async function () {
    expect(await waitForColumn(settings, 'status', 'UP', 5_000)).to.equal('UP');
  });

  it('completes a MySQL-protocol check as the check user without an aborted connection on MariaDB', async function () {
    // L7OK: the handshake and login went through, not just the TCP connect (that would be L4OK).
    expect(await waitForColumn(settings, 'check_status', 'L7OK', 5_000)).to.equal('L7OK');
    const admin = await mysql.createConnection(db.admin);
    const [[row]] = await admin.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Aborted_connects'");
    await admin.end();
    expect(row?.Value).to.equal('0');
  });

  it('marks the server DOWN when MariaDB is killed, and UP again once it restarts', async function () {
    this.timeout(30_000);
    db.kill();
    expect(await waitForColumn(settings, 'status', 'DOWN', 10_000)).to.equal('DOWN');
    await db.restart();
    expect(await waitForColumn(settings, 'status', 'UP', 10_000)).to.equal('UP');
    const connection = await connectThroughProxy();
    const [[row]] = await connection.query<mysql.RowDataPacket[]>('SELECT 1 AS one');
    await connection.end();
    expect(row?.one).to.equal(1);
  });
});
