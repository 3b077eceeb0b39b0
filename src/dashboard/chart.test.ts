import { describe, expect, it } from 'vitest';
import { lineChart, scalePoints, scaleValue, type PlotArea } from './chart.ts';

const plot: PlotArea = { left: 0, right: 100, top: 0, bottom: 50 };

describe('scalePoints', () => {
  it.each([
    {
      name: 'spans time left to right and values bottom (0) to top (max)',
      points: [
        { time: 1000, value: 0 },
        { time: 1500, value: 5 },
        { time: 2000, value: 10 },
      ],
      max: 10,
      expected: [
        { x: 0, y: 50 },
        { x: 50, y: 25 },
        { x: 100, y: 0 },
      ],
    },
    {
      name: 'puts a single moment in the middle',
      points: [{ time: 7, value: 4 }],
      max: 8,
      expected: [{ x: 50, y: 25 }],
    },
    {
      name: 'keeps everything on the floor when every value is 0',
      points: [
        { time: 0, value: 0 },
        { time: 1, value: 0 },
      ],
      max: 0,
      expected: [
        { x: 0, y: 50 },
        { x: 100, y: 50 },
      ],
    },
    {
      name: 'rounds to a tenth of a unit',
      points: [
        { time: 0, value: 1 },
        { time: 3, value: 2 },
        { time: 9, value: 3 },
      ],
      max: 3,
      expected: [
        { x: 0, y: 33.3 },
        { x: 33.3, y: 16.7 },
        { x: 100, y: 0 },
      ],
    },
  ])('$name', ({ points, max, expected }) => {
    expect(scalePoints(points, plot, max)).toEqual(expected);
  });

  it('scales a value the way the axis labels it', () => {
    expect([0, 5, 10].map((v) => scaleValue(v, plot, 10))).toEqual([50, 25, 0]);
  });
});

describe('lineChart', () => {
  const format = (v: number) => `${v} B`;

  it('draws one polyline and one point per value, on one scale for all series, with the value on hover', () => {
    const svg = lineChart(
      'Bytes per backup',
      [
        {
          name: 'processed',
          points: [
            { time: Date.parse('2026-11-20T03:00:00Z'), value: 100 },
            { time: Date.parse('2026-11-21T03:00:00Z'), value: 200 },
          ],
        },
        {
          name: 'added',
          points: [
            { time: Date.parse('2026-11-20T03:00:00Z'), value: 100 },
            { time: Date.parse('2026-11-21T03:00:00Z'), value: 10 },
          ],
        },
      ],
      format,
    ).html;
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/<circle/g)).toHaveLength(4);
    // The largest value touches the top of the plot (y 28); the first "added" point sits level with the first "processed".
    const ys = [...svg.matchAll(/cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.min(...ys)).toBe(28);
    expect(ys[0]).toBe(ys[2]);
    expect(svg).toContain('processed: 200 B at 2026-11-21 03:00 UTC');
    expect(svg).toContain('>200 B<');
  });

  it('escapes its title and says so when there is nothing to draw', () => {
    expect(lineChart('<b>', [{ name: 'x', points: [] }], format).html).toBe(
      '<p class="muted">&lt;b&gt;: nothing to draw before the first backup completes.</p>',
    );
  });
});
