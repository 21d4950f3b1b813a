// bench/harness/chart.ts renders a well-formed standalone SVG document holding every series and reference line.
import { expect } from 'chai';
import { niceScale, renderChart, type ChartInput } from '../../bench/harness/chart';

/** A strict well-formedness check of the XML subset the chart uses: every tag closed, attributes quoted, text escaped. */
function checkWellFormed(xml: string): { root: string; tags: string[] } {
  const stack: string[] = [];
  const tags: string[] = [];
  let root = '';
  let last = 0;
  const badText = /[<>]|&(?!(?:amp|lt|gt|quot|apos|#\d+);)/;
  for (const match of xml.matchAll(/<[^>]*>/g)) {
    const text = xml.slice(last, match.index);
    if (badText.test(text)) throw new Error(`unescaped text: ${text}`);
    last = match.index + match[0].length;
    const tag =
      /^<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>$/.exec(
        match[0],
      );
    if (!tag) throw new Error(`malformed tag: ${match[0]}`);
    const [, closing, name, , selfClosing] = tag;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes nothing open`);
    } else {
      if (stack.length === 0) {
        if (root) throw new Error('more than one root element');
        root = name!;
      }
      tags.push(name!);
      if (!selfClosing) stack.push(name!);
    }
  }
  if (xml.slice(last).trim() !== '') throw new Error('text after the root element');
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  return { root, tags };
}

const input: ChartInput = {
  title: 'GET /todos on one worker <one connection> & friends',
  xLabel: 'connections',
  xs: [1, 8, 64],
  panels: [
    {
      title: 'throughput',
      yLabel: 'req/s',
      series: [
        {
          label: 'worker /todos',
          points: [
            { x: 1, y: 900, low: 850, high: 950 },
            { x: 8, y: 2100, low: 1900, high: 2300 },
            { x: 64, y: 1500 },
          ],
        },
      ],
      lines: [
        { label: 'limit via HAProxy', y: 9000 },
        { label: 'limit direct', y: 11000 },
      ],
    },
    {
      title: 'p99',
      yLabel: 'ms',
      series: [
        {
          label: 'worker /todos',
          points: [
            { x: 1, y: 1.5 },
            { x: 8, y: 9 },
            { x: 64, y: NaN },
          ],
        },
      ],
    },
  ],
  note: 'a "note" with <brackets>',
};

describe('bench/harness/chart.ts renderChart()', () => {
  it('renders a well-formed SVG document', () => {
    const svg = renderChart(input);
    const { root } = checkWellFormed(svg);
    expect(root).to.equal('svg');
    expect(svg).to.match(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/,
    );
    expect(svg).to.include('&lt;one connection&gt; &amp; friends');
  });

  it('draws each series as a polyline through its points, skipping points without a value', () => {
    const svg = renderChart(input);
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' '));
    expect(polylines.map((p) => p.length)).to.deep.equal([3, 2]);
    for (const point of polylines.flat()) expect(point).to.match(/^\d+(\.\d)?,\d+(\.\d)?$/);
    // Higher values are higher up (smaller y): 2100 req/s at 8 above 900 req/s at 1.
    const [first, second] = polylines[0]!.map((p) => Number(p.split(',')[1]));
    expect(second!).to.be.lessThan(first!);
    expect(svg.match(/<g class="series"/g)).to.have.length(2);
    expect(svg.match(/<circle /g)).to.have.length(5);
  });

  it('draws the limits as dashed horizontal lines above the series, and a legend entry for each label', () => {
    const svg = renderChart(input);
    const references = [
      ...svg.matchAll(/<line class="reference" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/g),
    ];
    expect(references).to.have.length(2);
    for (const [, x1, y1, x2, y2] of references) {
      expect(y1).to.equal(y2);
      expect(Number(x2)).to.be.greaterThan(Number(x1));
    }
    // 11000 is drawn above 9000, which is above every point of the series.
    expect(Number(references[1]![2])).to.be.lessThan(Number(references[0]![2]));
    for (const label of ['worker /todos', 'limit via HAProxy', 'limit direct'])
      expect(svg).to.include(`>${label}</text>`);
    expect(svg.match(/stroke-dasharray/g)!.length).to.be.at.least(4);
  });

  it('picks round axis steps', () => {
    expect(niceScale(11000)).to.deep.equal({ max: 12000, step: 2000 });
    expect(niceScale(9)).to.deep.equal({ max: 10, step: 2 });
    expect(niceScale(0)).to.deep.equal({ max: 1, step: 0.2 });
  });
});
