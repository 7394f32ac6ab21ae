// @ts-check
/**
 * Formatting of numbers, sizes, dates and waits for display.
 * Uses the browser's locale through Intl so people see their own conventions.
 */

const numberFormat = new Intl.NumberFormat();
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSecondsFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** 1234 → "1,234" (locale-dependent). */
export function formatNumber(n) {
  return Number.isFinite(n) ? numberFormat.format(n) : '—';
}

/**
 * Bytes in decimal units (kB = 1000 B), as desktop file managers show them,
 * so the numbers match what people see when they look at the folder.
 */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit += 1;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function validDate(ms) {
  if (ms === null || ms === undefined || ms === '') return null;
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) || Number(ms) <= 0 ? null : date;
}

/** Milliseconds since the epoch → "12 Mar 2025, 14:03"; "—" when unknown. */
export function formatDateTime(ms, { seconds = false } = {}) {
  const date = validDate(ms);
  if (!date) return '—';
  return (seconds ? dateTimeSecondsFormat : dateTimeFormat).format(date);
}

/** Milliseconds since the epoch → "12 Mar 2025". */
export function formatDate(ms) {
  const date = validDate(ms);
  return date ? dateFormat.format(date) : '—';
}

/**
 * Milliseconds since the epoch → "5 minutes ago" / "yesterday", relative to
 * `now`; "—" when unknown. Up to a minute counts as "just now".
 */
export function formatAgo(ms, now = Date.now()) {
  const date = validDate(ms);
  if (!date) return '—';
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 60) return 'just now';
  let value = seconds / 60;
  /** @type {Array<[number, Intl.RelativeTimeFormatUnit]>} */
  const steps = [[60, 'minute'], [24, 'hour']];
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relativeFormat.format(Math.round(value), unit);
    value /= size;
  }
  return relativeFormat.format(Math.round(value), 'day');
}

/** ISO text for a <time datetime>, or "" when unknown. */
export function isoDate(ms) {
  const date = validDate(ms);
  return date ? date.toISOString() : '';
}

/** "1 file" / "3 files". */
export function plural(n, one, many = `${one}s`) {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

/** Seconds to wait (from Retry-After) → "45 seconds", "3 minutes", "2 hours". */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  if (s < 90) return plural(s, 'second');
  const minutes = Math.ceil(s / 60);
  if (minutes < 90) return plural(minutes, 'minute');
  return plural(Math.ceil(minutes / 60), 'hour');
}

const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** A UTC day as the server names it ("2026-12-07") → "7 Dec"; the text as is when it is not one. */
export function formatDay(day) {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(day ?? '') ? new Date(`${day}T00:00:00Z`) : null;
  return date && !Number.isNaN(date.getTime()) ? dayFormat.format(date) : String(day ?? '');
}
