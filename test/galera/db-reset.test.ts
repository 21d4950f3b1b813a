// `npm run db:reset -- --yes` on the stack's own three-node Galera cluster (DB_TOPOLOGY=galera): run
// against the first node's socket, its DROP and CREATE statements replicate, so every node holds exactly
// the seed rows afterwards. Real nodes on free ports in a temp dir, started as the node runner does.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../../cluster/database/admin';
import { decideOwnStart } from '../../cluster/database/galera/coordinate';
import { galeraLayoutFromEnv } from '../../cluster/database/galera/env';
import { freeGaleraBasePorts } from '../../cluster/database/galera/free-base-ports';
import type { GaleraLayout, GaleraNode } from '../../cluster/database/galera/layout';
import { nodeAdminLogin, spawnNode, waitUntilSynced, type RunningNode } from '../../cluster/database/galera/node';
import { migrate } from '../../cluster/database/migrate';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';
import { provisionSecrets } from '../../cluster/secrets';
import { forgetFolder, killOnExit, removeOnExit } from '../support/processes';
import { waitFor } from '../support/wait';

const SYNCED_TIMEOUT_MS = 90_000;

async function query(node: GaleraNode, sql: string): Promise<mysql.RowDataPacket[]> {
  const connection = await mysql.createConnection({ ...nodeAdminLogin(node), database: 'test', connectTimeout: 2000 });
  try {
    return (await connection.query<mysql.RowDataPacket[]>(sql))[0];
  } finally {
    await connection.end();
  }
}

describe('npm run db:reset on a Galera cluster', function () {
  this.timeout(180_000);
  let folder: string;
  let env: Record<string, string>;
  let layout: GaleraLayout;
  const running: RunningNode[] = [];

  before(async function () {
    folder = await mkdtemp(path.join(os.tmpdir(), 'kh-galera-reset-'));
    removeOnExit(folder);
    const base = await freeGaleraBasePorts();
    env = {
      DB_TOPOLOGY: 'galera',
      STACK_DIR: folder,
      GALERA_NODES: '3',
      GALERA_CHECK_PASSWORD: randomBytes(12).toString('hex'),
      GALERA_CLIENT_PORT: String(base.client),
      GALERA_GROUP_PORT: String(base.group),
      GALERA_IST_PORT: String(base.ist),
      GALERA_SST_PORT: String(base.sst),
      GALERA_AGENT_PORT: String(base.agent),
    };
    layout = galeraLayoutFromEnv({ ...process.env, ...env });
    // As pm2 starts the runners: all at once; the plan makes n1 bootstrap and the others join by SST.
    await Promise.all(
      layout.nodes.map(async (node) => {
        const start = await decideOwnStart(layout, node, { timeoutMs: SYNCED_TIMEOUT_MS });
        const handle = await spawnNode(layout, node, start, { onSpawn: killOnExit });
        running.push(handle);
        await waitUntilSynced(handle, SYNCED_TIMEOUT_MS);
      }),
    );
    const settings = provisionSecrets(loadStackSettings(env));
    await migrate(settings, adminConnectionOptions(settings));
  });

  after(async function () {
    this.timeout(90_000);
    for (const handle of running) {
      await Promise.race([handle.stop(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await handle.kill();
    }
    if (folder) {
      await rm(folder, { recursive: true, force: true });
      forgetFolder(folder);
    }
  });

  it('leaves exactly the seed rows on every node', async function () {
    const [n1, n2, n3] = layout.nodes as [GaleraNode, GaleraNode, GaleraNode];
    await query(n2, "INSERT INTO todos (item) VALUES ('made on n2')");
    await query(n3, 'DELETE FROM todos WHERE id = 1');

    const result = spawnSync(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), path.join(PROJECT_ROOT, 'cluster', 'cli', 'db-reset.ts'), '--yes'],
      { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), ...env }, encoding: 'utf8' },
    );
    expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include(
      "Reset the stack's Galera cluster: dropped idempotency_keys, schema_migrations, todos",
    );

    const seed = [
      { id: 1, item: 'task1', status: 'pending' },
      { id: 2, item: 'task2', status: 'done' },
    ];
    expect(await query(n1, 'SELECT id, item, status FROM todos ORDER BY id')).to.deep.equal(seed);
    for (const node of [n2, n3]) {
      // Applied on n1 first; the others apply the write sets in order, soon after.
      await waitFor(
        `the seed rows alone on ${node.name}`,
        async () => {
          const rows = await query(node, 'SELECT id, item, status FROM todos ORDER BY id');
          return JSON.stringify(rows) === JSON.stringify(seed) ? true : undefined;
        },
        10_000,
        100,
      );
    }
  });
});
