/**
 * A small SVG bar chart, enough for the benchmark report: groups of bars with a legend, a
 * linear value axis and labels. No dependency, deterministic output.
 */

export interface BarGroup {
  label: string;
  /** One value per series (undefined: no bar). */
  values: Array<number | undefined>;
}

export interface BarChart {
  title: string;
  unit: string;
  series: string[];
  groups: BarGroup[];
}

const COLORS = ['#2f6db5', '#d9822b', '#3f9c5a', '#9b59b6', '#c0392b'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function short(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 0 : 1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e4 ? 0 : 1)}k`;
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

export function barChart(chart: BarChart): string {
  const barWidth = 14;
  const gap = 18;
  const groupWidth = chart.series.length * barWidth + gap;
  const left = 56;
  const top = 40;
  const height = 200;
  const width = left + chart.groups.length * groupWidth + 20;
  const max = niceMax(Math.max(0, ...chart.groups.flatMap((g) => g.values.filter((v): v is number => v !== undefined))));
  const y = (v: number): number => top + height - (v / max) * height;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + height + 70}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(chart.title)}</text>`);
  chart.series.forEach((name, i) => {
    const x = left + i * 130;
    parts.push(`<rect x="${x}" y="24" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
    parts.push(`<text x="${x + 14}" y="33">${esc(name)}</text>`);
  });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(`<line x1="${left - 4}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${short(v)}</text>`);
  }
  parts.push(`<text x="12" y="${top + height / 2}" transform="rotate(-90 12 ${top + height / 2})" text-anchor="middle">${esc(chart.unit)}</text>`);
  chart.groups.forEach((group, g) => {
    const x0 = left + g * groupWidth + gap / 2;
    group.values.forEach((v, i) => {
      if (v === undefined) return;
      const x = x0 + i * barWidth;
      parts.push(`<rect x="${x}" y="${y(v).toFixed(1)}" width="${barWidth - 2}" height="${(top + height - y(v)).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${chart.series[i]} ${group.label}: ${v}`)}</title></rect>`);
    });
    const cx = x0 + (chart.series.length * barWidth) / 2;
    parts.push(`<text x="${cx}" y="${top + height + 14}" text-anchor="end" transform="rotate(-35 ${cx} ${top + height + 14})">${esc(group.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
