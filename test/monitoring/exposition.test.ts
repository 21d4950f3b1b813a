// GET /metrics in both formats from one registry, in process (no database: the routes used never touch it):
// OpenMetrics with exemplars when the Accept header prefers it, the classic text otherwise, and neither
// changes the other (prom-client's own OpenMetrics output renames counters in place).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp } from '../../server/app';
import type { Db } from '../../server/db/db';
import type { PoolStats } from '../../server/db/pool';
import { registerDbMetrics } from '../../server/metrics/db-metrics';
import { wantsOpenMetrics } from '../../server/metrics/exposition';
import { createRegistry } from '../../server/metrics/registry';

/** What Prometheus 2.x sends when it scrapes. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('wantsOpenMetrics(accept)', () => {
  it("is true for Prometheus's Accept header and for OpenMetrics alone", () => {
    expect(wantsOpenMetrics(PROMETHEUS_ACCEPT)).to.equal(true);
    expect(wantsOpenMetrics('application/openmetrics-text')).to.equal(true);
  });

  it('is false for no header, a wildcard, text/plain, or OpenMetrics ranked below text/plain', () => {
    for (const accept of [
      undefined,
      '',
      '*/*',
      'text/plain',
      'text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5',
      'application/openmetrics-text;q=0',
      'text/*,application/openmetrics-text',
    ]) {
      expect(wantsOpenMetrics(accept), String(accept)).to.equal(false);
    }
  });
});

describe('GET /metrics (content negotiation and exemplars)', () => {
  let server: http.Server;
  let url: string;

  before(async () => {
    const registry = createRegistry({ worker: 'w1', version: '9.9.9', port: 8000, commit: 'c0ffee' });
    const stats: PoolStats = { used: 0, idle: 1, limit: 1, pending: 0 } as PoolStats;
    const observer = registerDbMetrics(registry, () => stats);
    // A query the pool ran for a request (db.ts names it) and one outside any request.
    observer.queryFinished('list_todos', 'ok', 0.003, undefined, 'query-req-1');
    observer.queryFinished('get_todo', 'ok', 0.002);
    const app = createApp({ db: {} as Db, registry, log: () => undefined, sleepMaxSeconds: 1, bodyLimitBytes: 1024 });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${url}/`, { headers: { 'X-Request-Id': 'http-req-1' } })).status).to.equal(200);
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const scrape = async (accept?: string) => {
    const response = await fetch(`${url}/metrics`, { headers: accept === undefined ? {} : { Accept: accept } });
    expect(response.status).to.equal(200);
    expect(response.headers.get('vary')).to.equal('Accept');
    return { type: response.headers.get('content-type'), text: await response.text() };
  };

  it("answers Prometheus's Accept with OpenMetrics, request ids as exemplars on the request and query buckets", async () => {
    const { type, text } = await scrape(PROMETHEUS_ACCEPT);
    expect(type).to.equal('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text.endsWith('\n# EOF\n')).to.equal(true);
    expect(text).to.match(
      /^http_request_duration_seconds_bucket\{le="0\.\d+",worker="w1",method="GET",route="\/"\} 1 # \{request_id="http-req-1"\} \S+ \d+\.?\d*$/m,
    );
    expect(text).to.match(
      /^db_query_duration_seconds_bucket\{le="0\.005",worker="w1",query="list_todos",outcome="ok"\} 1 # \{request_id="query-req-1"\} 0\.003 \d+/m,
    );
    // The query outside a request has no exemplar.
    expect(text).to.match(
      /^db_query_duration_seconds_bucket\{le="0\.0025",worker="w1",query="get_todo",outcome="ok"\} 1$/m,
    );
    // Counter families are named without _total, their samples with it.
    expect(text).to.include('# TYPE http_requests counter\n');
    expect(text).to.match(/^http_requests_total\{method="GET",route="\/",status="200",worker="w1"\} 1$/m);
  });

  it('answers a scrape without Accept (curl) with the classic text, and an OpenMetrics scrape changed nothing in it', async () => {
    await scrape(PROMETHEUS_ACCEPT);
    const { type, text } = await scrape();
    expect(type).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(text).not.to.include('# EOF');
    expect(text).not.to.include('request_id');
    expect(text).to.include('# TYPE http_requests_total counter\n');
    expect(text).to.include('# TYPE db_pool_rejected_total counter\n');
    expect(text).to.match(/^http_requests_total\{method="GET",route="\/",status="200",worker="w1"\} 1$/m);
  });

  it('reports version, commit and port in app_info', async () => {
    const { text } = await scrape();
    expect(text).to.match(/^app_info\{version="9\.9\.9",commit="c0ffee",port="8000",worker="w1"\} 1$/m);
  });
});
