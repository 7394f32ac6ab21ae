// @ts-check
/**
 * A small bar chart of generations per day, drawn as inline SVG (built
 * with createElementNS, so no markup is parsed and the CSP stays strict).
 * Each bar has a <title> ("7 Dec: 12 generations") that shows on hover;
 * the chart as a whole is an image labelled by a sentence under it, which
 * says the same for everyone ("Last 14 days: 37 generations, most on …").
 * A dashed line marks the daily limit when there is one.
 */

import { h, uid } from './dom.js';
import { formatDay, formatNumber, plural } from './format.js';
import { hasLimit } from './limits.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const BAR = 14;
const GAP = 4;
const HEIGHT = 80;
const LABELS = 14;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  el.append(...children);
  return el;
}

/** The sentence that sums the chart up. */
export function usageSummary(days) {
  const total = days.reduce((sum, d) => sum + (Number(d.count) || 0), 0);
  let text = `Last ${days.length} days: ${plural(total, 'generation')}`;
  if (total > 0) {
    const top = days.reduce((best, d) => (d.count > best.count ? d : best), days[0]);
    text += `, most on ${formatDay(top.day)} (${formatNumber(top.count)})`;
  }
  return { total, text: `${text}.` };
}

/**
 * @param {Array<{day: string, count: number}>} days oldest first
 * @param {{perDay?: number|null}} options the daily limit, drawn as a line
 * @returns {HTMLElement} a <figure> with the chart and its summary
 */
export function usageChart(days, { perDay = null } = {}) {
  const list = Array.isArray(days) ? days : [];
  const { total, text } = usageSummary(list);
  const top = Math.max(1, ...list.map((d) => Number(d.count) || 0), hasLimit(perDay) ? perDay : 0);
  const width = list.length * (BAR + GAP) - GAP;
  const summaryId = uid('usage-summary');

  const bars = list.map((d, i) => {
    const count = Number(d.count) || 0;
    const height = count ? Math.max(2, Math.round((count / top) * HEIGHT)) : 1;
    return svg('rect', {
      class: count ? 'usage-bar' : 'usage-bar usage-bar-zero',
      'data-test': 'usage-bar',
      'data-day': d.day,
      'data-count': count,
      x: i * (BAR + GAP),
      y: HEIGHT - height,
      width: BAR,
      height,
      rx: 2,
    }, svg('title', {}, `${formatDay(d.day)}: ${plural(count, 'generation')}`));
  });
  const limitY = hasLimit(perDay) ? HEIGHT - Math.round((perDay / top) * HEIGHT) : null;
  const limit = limitY === null ? null : svg('line', {
    class: 'usage-limit', x1: 0, x2: width, y1: limitY, y2: limitY,
  }, svg('title', {}, `Daily limit: ${formatNumber(perDay)}`));
  const labels = list.length ? [
    svg('text', { class: 'usage-axis', x: 0, y: HEIGHT + LABELS, 'text-anchor': 'start' }, formatDay(list[0].day)),
    svg('text', { class: 'usage-axis', x: width, y: HEIGHT + LABELS, 'text-anchor': 'end' },
      formatDay(list[list.length - 1].day)),
  ] : [];

  const chart = svg('svg', {
    class: 'usage-chart-svg',
    viewBox: `0 0 ${Math.max(width, 1)} ${HEIGHT + LABELS + 2}`,
    role: 'img',
    'aria-labelledby': summaryId,
    focusable: 'false',
  }, ...bars, ...(limit ? [limit] : []), ...labels);

  return h('figure', { class: 'usage-chart', test: 'usage-chart', 'data-total': String(total) },
    chart,
    h('figcaption', { id: summaryId, class: 'muted', test: 'usage-chart-summary' }, text));
}
