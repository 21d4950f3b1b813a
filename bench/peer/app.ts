// The peer `npm run bench` measures ours against: the app a user would write by hand from the design card
// (/work/shared/reference: Flask + a pool of one connection through HAProxy), in Koa. Koa, @koa/router, a
// mysql2 pool of ONE connection to the same HAProxy, prom-client with its default metrics and a histogram
// per query and per request. Pages (?limit=&after=) as a user would add them. Plain, not tuned.
// Env: PORT, DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME.
import Koa from 'koa';
import Router from '@koa/router';
import mysql from 'mysql2/promise';
import client from 'prom-client';

const env = process.env;
const pool = mysql.createPool({
  host: env.DB_HOST,
  port: Number(env.DB_PORT),
  user: env.DB_USER,
  password: env.DB_PASSWORD,
  database: env.DB_NAME ?? 'test',
  connectionLimit: 1,
});

client.collectDefaultMetrics();
const queryDuration = new client.Histogram({
  name: 'peer_db_query_duration_seconds',
  help: 'Query time',
  labelNames: ['query'],
});
const requestDuration = new client.Histogram({
  name: 'peer_http_request_duration_seconds',
  help: 'Request time',
  labelNames: ['method', 'route', 'status'],
});

type Todo = { id: number; item: string; status: string };

async function query(name: string, sql: string, params: (string | number)[] = []): Promise<Todo[]> {
  const end = queryDuration.startTimer({ query: name });
  try {
    const [rows] = await pool.execute(sql, params);
    return rows as Todo[];
  } finally {
    end();
  }
}

const app = new Koa();
const router = new Router();

app.use(async (ctx, next) => {
  const end = requestDuration.startTimer({ method: ctx.method });
  try {
    await next();
  } finally {
    end({ route: (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched', status: ctx.status });
  }
});

router.get('/', (ctx) => {
  ctx.body = 'Welcome!\n';
});

router.get('/todos', async (ctx) => {
  const limit = Number(ctx.query.limit ?? 0);
  const after = Number(ctx.query.after ?? 0);
  if (!Number.isInteger(limit) || !Number.isInteger(after) || limit < 0 || limit > 1000 || after < 0)
    ctx.throw(400, 'bad limit or after');
  const rows =
    limit > 0
      ? await query('list_todos_page', 'SELECT id, item, status FROM todos WHERE id > ? ORDER BY id LIMIT ?', [
          after,
          String(limit),
        ])
      : await query('list_todos', 'SELECT id, item, status FROM todos ORDER BY id');
  const body: Record<string, { item: string; status: string }> = {};
  for (const row of rows) body[row.id] = { item: row.item, status: row.status };
  ctx.body = body;
});

router.get('/todos/:id', async (ctx) => {
  const [row] = await query('get_todo', 'SELECT id, item, status FROM todos WHERE id = ?', [Number(ctx.params.id)]);
  if (!row) ctx.throw(404, 'no such todo');
  ctx.body = row;
});

router.get('/metrics', async (ctx) => {
  ctx.type = client.register.contentType;
  ctx.body = await client.register.metrics();
});

app.use(router.routes());
app.listen(Number(env.PORT ?? 3000), '127.0.0.1');
