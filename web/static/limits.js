// @ts-check
/**
 * Usage limits and counts in words, and the number fields that set them:
 * shared by the account page's "Permissions" card and the admin's
 * profiles and per-account "Permissions…" dialog. A limit of null or 0
 * is no limit.
 */

import { h, field } from './dom.js';
import { formatNumber } from './format.js';

/** The most the server takes for one limit. */
export const LIMIT_MAX = 1000000;

/**
 * Whether `n` is a limit (null and 0 are none).
 * @param {number|null|undefined} n
 * @returns {n is number}
 */
export function hasLimit(n) {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

/** "2 of 10 this hour" / "2 this hour (no limit)"; `span` is "this hour" or "today". */
export function usedOf(used, limit, span) {
  const count = formatNumber(used ?? 0);
  return hasLimit(limit) ? `${count} of ${formatNumber(limit)} ${span}` : `${count} ${span} (no limit)`;
}

/** "At most 1 at once" / "No limit on how many at once". */
export function atOnceWords(limit) {
  return hasLimit(limit) ? `At most ${formatNumber(limit)} at once` : 'No limit on how many at once';
}

/** One limit in short: "5 per hour"; "no limit" for none. */
export function limitWords(n, per) {
  return hasLimit(n) ? `${formatNumber(n)} ${per}` : 'no limit';
}

/** Limits in short: "10 per hour · 100 per day · 1 at once", or "No limits". */
export function limitsSummary(limits) {
  const parts = [];
  if (hasLimit(limits?.perHour)) parts.push(`${formatNumber(limits.perHour)} per hour`);
  if (hasLimit(limits?.perDay)) parts.push(`${formatNumber(limits.perDay)} per day`);
  if (hasLimit(limits?.atOnce)) parts.push(`${formatNumber(limits.atOnce)} at once`);
  return parts.length ? parts.join(' · ') : 'No limits';
}

/** A limit field's text: '' → null, a whole number up to LIMIT_MAX → it, anything else → NaN. */
export function parseLimit(text) {
  const value = String(text ?? '').trim();
  if (value === '') return null;
  return /^\d+$/.test(value) && Number(value) <= LIMIT_MAX ? Number(value) : NaN;
}

/** A number field for one limit. */
export function limitInput(test, value) {
  return h('input', {
    type: 'number', min: 0, max: LIMIT_MAX, step: 1, inputmode: 'numeric', test,
    value: value === null || value === undefined ? '' : String(value),
  });
}

/** The first of `inputs` ({label, input}) that does not hold a limit, as an error text. */
export function badLimit(inputs) {
  // A number field holds '' for text it cannot read, which is not the same as empty.
  const bad = inputs.find(({ input }) => input.validity?.badInput || Number.isNaN(parseLimit(input.value)));
  return bad ? `Generations ${bad.label.toLowerCase()}: type a whole number from 0 to ${formatNumber(LIMIT_MAX)}, or leave it empty.` : '';
}

/**
 * The three limit fields of a dialog (per hour, per day, at once) in a
 * fieldset, filled from `limits`. `hint` is one text for all three, or a
 * function giving each field its own (`field.hint` is that element, to
 * change it later). `values()` reads them as numbers (null when empty,
 * NaN when not a limit).
 */
export function limitFields(prefix, limits, hint) {
  const fields = [
    { key: 'perHour', label: 'Per hour', input: limitInput(`${prefix}-per-hour`, limits?.perHour) },
    { key: 'perDay', label: 'Per day', input: limitInput(`${prefix}-per-day`, limits?.perDay) },
    { key: 'atOnce', label: 'At once', input: limitInput(`${prefix}-at-once`, limits?.atOnce) },
  ];
  const each = typeof hint === 'function';
  for (const f of fields) f.hint = each ? h('span', {}, hint(f)) : null;
  const el = h('fieldset', { class: 'check-group' },
    h('legend', {}, 'Generation limits'),
    each ? null : h('p', { class: 'hint' }, hint),
    h('div', { class: 'limit-fields' }, fields.map((f) => field(f.label, f.input, { hint: f.hint }))));
  const values = () => Object.fromEntries(fields.map((f) => [f.key, parseLimit(f.input.value)]));
  return { el, fields, values };
}
