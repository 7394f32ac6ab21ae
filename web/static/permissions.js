// @ts-check
/**
 * The account page's "Permissions" card: the account's permission profile,
 * what it allows in SillyTavern, its generation limits with what was used
 * (and when the counts start again), and the API connections an admin
 * shares with it. Shared keys are named, never shown: the server does not
 * send their values to anyone.
 */

import { api } from './api.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { formatDateTime, formatNumber } from './format.js';
import { atOnceWords, usedOf } from './limits.js';
import { card } from './view.js';

/** An RFC 3339 time from the server → "8 Dec 2026, 15:00" (local time). */
function when(text) {
  const ms = Date.parse(text ?? '');
  return Number.isNaN(ms) ? '—' : formatDateTime(ms);
}

/** The card; `load()` reads the permissions again (call it on every visit). */
export function createPermissionsCard() {
  const el = card('Permissions', { test: 'permissions-card', iconName: 'shield' });
  const profile = h('dd', { test: 'permissions-profile' });
  const switches = h('ul', { class: 'switch-list', test: 'permissions-switches' });
  const hour = h('li', { test: 'permissions-hour' });
  const day = h('li', { test: 'permissions-day' });
  const atOnce = h('li', { test: 'permissions-at-once' });
  const resets = h('p', { class: 'muted', test: 'permissions-resets' });
  const shared = h('p', { test: 'permissions-shared', hidden: true });
  const sharedNote = h('p', { class: 'note', test: 'permissions-shared-note', hidden: true }, icon('lock'),
    h('span', {}, 'These keys are used for you when you generate, but they are never shown: '
      + 'not here, and not in SillyTavern\'s API connections.'));

  el.append(
    h('p', { class: 'muted' }, 'What your account may do in SillyTavern. An admin sets this.'),
    h('dl', { class: 'facts' }, h('dt', {}, 'Profile'), profile),
    h('h3', { class: 'step' }, 'Allowed'),
    switches,
    h('h3', { class: 'step' }, 'Generations (chat, text, images, speech, translations)'),
    h('ul', { class: 'limit-list' }, hour, day, atOnce),
    resets,
    shared,
    sharedNote,
  );

  function switchRow(s) {
    return h('li', { test: 'permissions-switch', 'data-name': s.name, 'data-allowed': s.allowed ? '1' : '0' },
      icon(s.allowed ? 'check' : 'close'),
      h('span', {}, s.label),
      h('span', { class: `badge ${s.allowed ? 'badge-ok' : 'badge-off'}` }, s.allowed ? 'Allowed' : 'Not allowed'));
  }

  function render(p) {
    const limits = p.limits ?? {};
    const usage = p.usage ?? {};
    el.dataset.profile = p.profile ?? '';
    profile.textContent = p.profile ?? '—';
    switches.replaceChildren(...(Array.isArray(p.switches) ? p.switches : []).map(switchRow));

    hour.textContent = usedOf(usage.hour, limits.perHour, 'this hour');
    hour.dataset.used = String(usage.hour ?? 0);
    hour.dataset.limit = limits.perHour ? String(limits.perHour) : '';
    day.textContent = usedOf(usage.day, limits.perDay, 'today');
    day.dataset.used = String(usage.day ?? 0);
    day.dataset.limit = limits.perDay ? String(limits.perDay) : '';
    const running = Number(p.running ?? 0);
    atOnce.textContent = atOnceWords(limits.atOnce) + (running ? ` (${formatNumber(running)} running now)` : '');
    atOnce.dataset.limit = limits.atOnce ? String(limits.atOnce) : '';
    resets.textContent = `The hour's count starts again at ${when(p.resets?.hour)}, `
      + `the day's at ${when(p.resets?.day)}.`;

    const list = Array.isArray(p.shared) ? p.shared : [];
    shared.hidden = list.length === 0;
    sharedNote.hidden = list.length === 0;
    shared.replaceChildren(
      h('strong', {}, 'Shared with you: '),
      ...list.flatMap((c, i) => [
        i ? ', ' : '',
        h('span', { test: 'permissions-shared-item', 'data-name': c.name, 'data-key': c.secretKey },
          `${c.name} (${c.secretKey})`),
      ]),
    );
  }

  async function load() {
    render(await api('/api/permissions/me'));
  }

  return { el, load };
}
