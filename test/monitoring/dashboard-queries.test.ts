import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '../../cluster/settings';
import { dashboardQueries, exposedFamilies, familiesWithoutPanel, namesIn } from '../../monitoring/dashboard-queries';

const DASHBOARD_FILE = path.join(PROJECT_ROOT, 'monitoring', 'grafana', 'dashboard.json');

interface Dashboard {
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; allValue?: string; multi?: boolean }> };
  panels: Array<{
    id: number;
    type: string;
    title: string;
    datasource: { uid: string };
    targets?: Array<{ expr: string; exemplar?: boolean }>;
  }>;
}

const load = (): Dashboard => JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

describe('dashboardQueries(dashboard)', () => {
  it('returns one query per target, naming the refId only when a panel has several', () => {
    const queries = dashboardQueries({
      panels: [
        { title: 'One', targets: [{ refId: 'A', expr: 'up' }] },
        {
          title: 'Two',
          targets: [
            { refId: 'A', expr: 'a' },
            { refId: 'B', expr: 'b' },
            { refId: 'C', expr: '' },
          ],
        },
        { title: 'Text', type: 'text' },
      ],
    });
    expect(queries).to.deep.equal([
      { title: 'One', expr: 'up' },
      { title: 'Two [A]', expr: 'a' },
      { title: 'Two [B]', expr: 'b' },
    ]);
  });

  it('replaces $worker, ${worker} and $__rate_interval with values Prometheus accepts', () => {
    const [query] = dashboardQueries({
      panels: [{ title: 'P', targets: [{ expr: 'rate(x{worker=~"$worker", w=~"${worker}"}[$__rate_interval])' }] }],
    });
    expect(query?.expr).to.equal('rate(x{worker=~".+", w=~".+"}[1m])');
  });

  it('walks the panels inside a collapsed row', () => {
    const queries = dashboardQueries({
      panels: [{ title: 'Row', type: 'row', panels: [{ title: 'Inner', targets: [{ expr: 'up' }] }] }],
    });
    expect(queries).to.deep.equal([{ title: 'Inner', expr: 'up' }]);
  });

  it('throws when a panel uses a variable it cannot replace', () => {
    expect(() => dashboardQueries({ panels: [{ title: 'P', targets: [{ expr: 'up{job="$job"}' }] }] })).to.throw(
      'Panel "P" uses the variable $job, which dashboardQueries does not know how to replace.',
    );
  });

  it('throws when $worker is matched with = instead of =~', () => {
    expect(() => dashboardQueries({ panels: [{ title: 'P', targets: [{ expr: 'up{worker="$worker"}' }] }] })).to.throw(
      /Panel "P" matches \$worker with "="/,
    );
  });

  it('throws a TypeError for something that is not a dashboard', () => {
    expect(() => dashboardQueries({ title: 'no panels' })).to.throw(
      TypeError,
      'dashboardQueries needs a Grafana dashboard object with a panels array.',
    );
  });
});

describe('namesIn(expr)', () => {
  it('returns the identifiers outside string literals', () => {
    const names = namesIn('sum by (route) (rate(http_requests_total{worker=~"db_pool_x", status=~"5.."}[1m]))');
    expect(names.has('http_requests_total')).to.equal(true);
    expect(names.has('route')).to.equal(true);
    expect(names.has('db_pool_x')).to.equal(false);
  });
});

describe('familiesWithoutPanel(families, queries)', () => {
  it('counts a histogram charted through _bucket, _sum or _count, and nothing else as a suffix', () => {
    const queries = [
      { title: 'A', expr: 'rate(a_seconds_bucket[1m])' },
      { title: 'B', expr: 'rate(b_seconds_count[1m]) + c_total' },
    ];
    expect(familiesWithoutPanel(['a_seconds', 'b_seconds', 'c', 'c_total', 'd'], queries)).to.deep.equal(['c', 'd']);
  });
});

describe('exposedFamilies(text)', () => {
  it('returns the family of every # TYPE line', () => {
    const text = '# HELP a_total x\n# TYPE a_total counter\na_total 1\n# TYPE b histogram\nb_bucket{le="1"} 0\n';
    expect(exposedFamilies(text)).to.deep.equal(['a_total', 'b']);
  });

  it('names an OpenMetrics counter family as its samples are named, with _total', () => {
    const text = '# TYPE a counter\na_total 1\n# TYPE g_total gauge\ng_total 1\n# EOF\n';
    expect(exposedFamilies(text)).to.deep.equal(['a_total', 'g_total']);
  });
});

describe('monitoring/grafana/dashboard.json', () => {
  it('yields a query for every target, with no Grafana variable left', () => {
    const dashboard = load();
    const targets = dashboard.panels.flatMap((panel) => panel.targets ?? []);
    const queries = dashboardQueries(dashboard);
    expect(queries).to.have.length(targets.length);
    for (const query of queries) expect(query.expr, query.title).not.to.include('$');
  });

  it('takes its data source from the DS_PROMETHEUS variable and offers a multi-select worker variable', () => {
    const dashboard = load();
    expect(dashboard.schemaVersion).to.equal(39);
    const variables = Object.fromEntries(dashboard.templating.list.map((variable) => [variable.name, variable]));
    expect(variables.DS_PROMETHEUS?.type).to.equal('datasource');
    expect(variables.worker).to.include({ type: 'query', multi: true, allValue: '.+' });
    for (const panel of dashboard.panels) expect(panel.datasource.uid, panel.title).to.equal('${DS_PROMETHEUS}');
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('groups its panels under rows, and every other panel has a query', () => {
    for (const panel of load().panels) {
      if (panel.type === 'row') expect(panel.targets, panel.title).to.equal(undefined);
      else expect(panel.targets, panel.title).to.have.length.above(0);
    }
  });

  it('shows the exemplars of the request and query histograms', () => {
    const withExemplars = load()
      .panels.flatMap((panel) => panel.targets ?? [])
      .filter((target) => target.exemplar === true)
      .map((target) => target.expr);
    expect(withExemplars.some((expr) => expr.includes('http_request_duration_seconds_bucket{'))).to.equal(true);
    expect(withExemplars.some((expr) => expr.includes('db_query_duration_seconds_bucket{'))).to.equal(true);
  });

  it('charts the front door, the MySQL listener, mysqld and Galera', () => {
    const exprs = dashboardQueries(load())
      .map((query) => query.expr)
      .join('\n');
    for (const metric of [
      'haproxy_frontend_http_responses_total{proxy="http"}',
      'haproxy_backend_http_responses_total{proxy="workers"}',
      'haproxy_server_status{proxy="workers", state="UP"}',
      'haproxy_frontend_current_sessions{proxy="mysql"}',
      'mysql_up{job="mysqld"}',
      'mysql_global_status_threads_connected{job="mysqld"}',
      'mysql_global_status_wsrep_cluster_size{job="mysqld"}',
      'mysql_global_status_wsrep_flow_control_paused{job="mysqld"}',
      'galera_node_ready{job="galera"}',
    ])
      expect(exprs).to.include(metric);
  });

  it('charts the pool, query latency, HTTP traffic, rejections and HAProxy mysql series', () => {
    const exprs = dashboardQueries(load())
      .map((query) => query.expr)
      .join('\n');
    for (const metric of [
      'db_pool_connections{',
      'db_pool_pending_requests{',
      'db_pool_connections_max{',
      'db_pool_wait_seconds_bucket{',
      'db_query_duration_seconds_bucket{',
      'http_requests_total{',
      'status=~"5.."',
      'db_pool_rejected_total{',
      'haproxy_server_current_sessions{proxy="mysql"}',
      'haproxy_server_limit_sessions{proxy="mysql"}',
      'haproxy_server_current_queue{proxy="mysql"}',
    ])
      expect(exprs).to.include(metric);
  });
});
