// A small SVG line chart, no dependency: side-by-side panels sharing one x axis (categorical, e.g.
// concurrency 1, 8, 64, which are evenly spaced on a log scale), each with line series (a median per
// point and a min–max bar) and horizontal reference lines (e.g. the one-connection limit). Pure: data in,
// SVG text out.

export interface ChartPoint {
  x: number;
  y: number;
  /** The range of the repetitions, drawn as a vertical bar. */
  low?: number;
  high?: number;
}

export interface ChartSeries {
  label: string;
  points: ChartPoint[];
  color?: string;
}

export interface ChartLine {
  label: string;
  y: number;
  color?: string;
}

export interface ChartPanel {
  title: string;
  yLabel: string;
  series: ChartSeries[];
  lines?: ChartLine[];
}

export interface ChartInput {
  title: string;
  xLabel: string;
  /** The x values, in order; each gets one evenly spaced tick. */
  xs: number[];
  panels: ChartPanel[];
  /** A line of small print under the chart (machine, date). */
  note?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const PANEL_W = 420;
const PANEL_H = 260;
const MARGIN = { left: 64, right: 16, top: 56, bottom: 44 };
const LEGEND_LINE_H = 16;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A "nice" axis maximum and tick step (1, 2 or 5 times a power of ten) covering `max` in at most ticks + 1 steps. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => Math.ceil(max / s) <= ticks + 1)!;
  return { max: Math.ceil(max / step) * step, step };
}

const num = (n: number) => (Math.round(n * 10) / 10).toString();

function tickLabel(value: number, step: number): string {
  return step < 1 ? value.toFixed(Math.min(3, Math.ceil(-Math.log10(step)))) : String(Math.round(value));
}

function renderPanel(
  panel: ChartPanel,
  input: ChartInput,
  offsetX: number,
  colorOf: (label: string) => string,
): string[] {
  const out: string[] = [];
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const values = [
    ...panel.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.high ?? p.y])),
    ...(panel.lines ?? []).map((l) => l.y),
  ].filter((v) => Number.isFinite(v));
  const { max, step } = niceScale(Math.max(0, ...values));
  const x0 = offsetX + MARGIN.left;
  const y0 = MARGIN.top + plotH;
  const xAt = (x: number) => {
    const i = input.xs.indexOf(x);
    const slots = Math.max(1, input.xs.length - 1);
    return x0 + (input.xs.length === 1 ? plotW / 2 : (plotW * i) / slots);
  };
  const yAt = (y: number) => y0 - (plotH * Math.max(0, y)) / max;

  out.push(`<g class="panel">`);
  out.push(
    `<text x="${num(x0 + plotW / 2)}" y="${MARGIN.top - 16}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`,
  );
  // Grid and y ticks.
  for (let v = 0; v <= max + step / 2; v += step) {
    const y = num(yAt(v));
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${tickLabel(v, step)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${offsetX + 16} ${num(MARGIN.top + plotH / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(panel.yLabel)}</text>`,
  );
  // x ticks.
  for (const x of input.xs) {
    out.push(`<text x="${num(xAt(x))}" y="${y0 + 16}" text-anchor="middle" font-size="11">${x}</text>`);
  }
  out.push(
    `<text x="${num(x0 + plotW / 2)}" y="${y0 + 34}" text-anchor="middle" font-size="12">${escapeXml(input.xLabel)}</text>`,
  );
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0 + plotW}" y2="${y0}" stroke="#333"/>`);
  out.push(`<line x1="${x0}" y1="${MARGIN.top}" x2="${x0}" y2="${y0}" stroke="#333"/>`);
  // Reference lines.
  for (const line of panel.lines ?? []) {
    if (!Number.isFinite(line.y)) continue;
    const y = num(yAt(line.y));
    const color = line.color ?? colorOf(line.label);
    out.push(
      `<line class="reference" x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="${color}" stroke-dasharray="6 4" stroke-width="1.5"><title>${escapeXml(`${line.label}: ${num(line.y)}`)}</title></line>`,
    );
  }
  // Series: range bars, then the line through the medians, then the points.
  for (const series of panel.series) {
    const color = series.color ?? colorOf(series.label);
    const points = series.points.filter((p) => Number.isFinite(p.y) && input.xs.includes(p.x));
    out.push(`<g class="series" data-label="${escapeXml(series.label)}">`);
    for (const p of points) {
      if (p.low === undefined || p.high === undefined || !Number.isFinite(p.low) || !Number.isFinite(p.high)) continue;
      const x = num(xAt(p.x));
      out.push(
        `<line x1="${x}" y1="${num(yAt(p.low))}" x2="${x}" y2="${num(yAt(p.high))}" stroke="${color}" stroke-width="1" opacity="0.6"/>`,
      );
    }
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${num(xAt(p.x))},${num(yAt(p.y))}`).join(' ')}"/>`,
    );
    for (const p of points) {
      out.push(
        `<circle cx="${num(xAt(p.x))}" cy="${num(yAt(p.y))}" r="3" fill="${color}"><title>${escapeXml(`${series.label}, ${p.x}: ${num(p.y)}`)}</title></circle>`,
      );
      out.push(
        `<text x="${num(xAt(p.x) + 6)}" y="${num(yAt(p.y) - 6)}" font-size="10" fill="${color}">${p.y >= 100 ? Math.round(p.y) : num(p.y)}</text>`,
      );
    }
    out.push('</g>');
  }
  out.push('</g>');
  return out;
}

/** The chart as a standalone SVG document. */
export function renderChart(input: ChartInput): string {
  const labels: string[] = [];
  for (const panel of input.panels) {
    for (const item of [...panel.series, ...(panel.lines ?? [])])
      if (!labels.includes(item.label)) labels.push(item.label);
  }
  const explicit = new Map<string, string>();
  for (const panel of input.panels) {
    for (const item of [...panel.series, ...(panel.lines ?? [])]) if (item.color) explicit.set(item.label, item.color);
  }
  const colorOf = (label: string) => explicit.get(label) ?? PALETTE[labels.indexOf(label) % PALETTE.length]!;
  const width = Math.max(1, input.panels.length) * PANEL_W;
  const legendTop = PANEL_H + 8;
  const height = legendTop + labels.length * LEGEND_LINE_H + (input.note ? 24 : 8);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(input.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(input.title)}</text>`,
  ];
  input.panels.forEach((panel, i) => out.push(...renderPanel(panel, input, i * PANEL_W, colorOf)));
  // One legend for every panel: a solid line is a measured series, a dashed one a reference.
  const dashed = new Set(input.panels.flatMap((p) => (p.lines ?? []).map((l) => l.label)));
  labels.forEach((label, i) => {
    const y = legendTop + i * LEGEND_LINE_H + 8;
    const dash = dashed.has(label) ? ' stroke-dasharray="6 4"' : '';
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + 28}" y2="${y}" stroke="${colorOf(label)}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${MARGIN.left + 36}" y="${y}" dominant-baseline="middle">${escapeXml(label)}</text>`);
  });
  if (input.note)
    out.push(`<text x="${MARGIN.left}" y="${height - 8}" font-size="10" fill="#555">${escapeXml(input.note)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
