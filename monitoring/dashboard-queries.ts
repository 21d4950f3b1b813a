// Pulls every PromQL expression out of the Grafana dashboard with Grafana's variables replaced, so
// promtool and a live Prometheus can check exactly what the panels will ask.
export interface DashboardQuery {
  /** Panel title, plus the target's refId when the panel has more than one. */
  title: string;
  expr: string;
}

/**
 * What each Grafana variable becomes outside Grafana. $worker only ever appears as
 * worker=~"$worker", and '.+' is the dashboard's own "All" value; 1m is four 5s scrapes and more,
 * the floor Grafana's $__rate_interval would pick.
 */
export const VARIABLE_VALUES: Readonly<Record<string, string>> = {
  worker: '.+',
  __rate_interval: '1m',
  __interval: '5s',
  __range: '30m',
};

interface Target {
  refId?: string;
  expr?: string;
}
interface Panel {
  title?: string;
  targets?: Target[];
  panels?: Panel[];
}

function substitute(expr: string, where: string): string {
  // With "All" or several workers selected Grafana expands $worker to a regex, so an `=` match
  // would only work with exactly one worker selected.
  if (/[^=!~]=\s*"\$\{?worker\}?"/.test(expr)) {
    throw new Error(`${where} matches $worker with "=", which breaks when several workers are selected; use "=~".`);
  }
  // $name, ${name} and ${name:format}.
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_match, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const value = VARIABLE_VALUES[name];
    if (value === undefined)
      throw new Error(`${where} uses the variable $${name}, which dashboardQueries does not know how to replace.`);
    return value;
  });
}

/** Every target expression in the dashboard (rows included), in panel order, variables replaced. */
export function dashboardQueries(dashboard: unknown): DashboardQuery[] {
  const root = dashboard as { panels?: Panel[] } | null;
  if (typeof root !== 'object' || root === null || !Array.isArray(root.panels)) {
    throw new TypeError('dashboardQueries needs a Grafana dashboard object with a panels array.');
  }
  const queries: DashboardQuery[] = [];
  const visit = (panels: Panel[]): void => {
    for (const panel of panels) {
      const targets = (panel.targets ?? []).filter(
        (target) => typeof target.expr === 'string' && target.expr.trim() !== '',
      );
      for (const target of targets) {
        const title = targets.length > 1 ? `${panel.title} [${target.refId}]` : `${panel.title}`;
        queries.push({ title, expr: substitute(target.expr as string, `Panel "${title}"`) });
      }
      // A collapsed row keeps its panels inside it.
      if (Array.isArray(panel.panels)) visit(panel.panels);
    }
  };
  visit(root.panels);
  return queries;
}

/** Every identifier in a PromQL expression: metric names, and also functions and label names (harmless here). */
export function namesIn(expr: string): Set<string> {
  // String literals ("...") hold label values and regexes, not names.
  return new Set(expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []);
}

/**
 * The metric families (as exposedFamilies() names them) that no query names: a histogram or summary counts
 * as charted through any of its series (_bucket, _sum, _count).
 */
export function familiesWithoutPanel(families: Iterable<string>, queries: readonly DashboardQuery[]): string[] {
  const named = new Set(queries.flatMap((query) => [...namesIn(query.expr)]));
  const suffixes = ['', '_bucket', '_sum', '_count'];
  return [...families].filter((family) => !suffixes.some((suffix) => named.has(`${family}${suffix}`)));
}

/**
 * The families a Prometheus text or OpenMetrics exposition declares, in order. An OpenMetrics counter
 * family (`# TYPE http_requests counter`) is given the name its samples and PromQL use, with `_total`.
 */
export function exposedFamilies(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, family, type]) =>
    type === 'counter' && !family!.endsWith('_total') ? `${family}_total` : family!,
  );
}
