// @ts-check
/**
 * "Signed-in sessions": where an account is logged in — device, address,
 * when it signed in and was last used — with a button to end any other
 * session and one to sign out everywhere else. The account page shows the
 * user's own; an admin can open anyone's (pass `handle`).
 */

import { api } from './api.js';
import { h } from './dom.js';
import { act } from './status.js';
import { formatAgo, formatDateTime, isoDate, plural } from './format.js';
import { card, button } from './view.js';

function when(ms) {
  return h('time', { datetime: isoDate(ms), title: formatDateTime(ms, { seconds: true }) }, formatAgo(ms));
}

/** The card; `load()` reads the list again (call it on every visit). */
export function createSessionsCard({ handle = null } = {}) {
  // An admin looking at someone else's account ends all of them.
  const allOfThem = Boolean(handle);
  const others = button(allOfThem ? 'Sign out everywhere' : 'Sign out everywhere else',
    { test: 'sessions-end-others', iconName: 'logout', small: true });
  const el = card('Signed-in sessions', { test: 'sessions-card', iconName: 'user', actions: [others] });
  const intro = h('p', { class: 'muted' },
    'Every browser or app where this account is logged in. End any you do not recognise, then change your password.');
  const list = h('ul', { class: 'session-list', test: 'session-list' });
  el.append(intro, list);

  const body = (extra = {}) => (handle ? { handle, ...extra } : extra);

  function row(s) {
    const end = s.current
      ? h('span', { class: 'badge badge-ok', test: 'session-current' }, 'This device')
      : button('End', { test: 'session-end', iconName: 'close', small: true });
    if (end instanceof HTMLButtonElement) {
      end.addEventListener('click', () => act(end, async () => {
        await api('/api/sessions/end', body({ id: s.id }));
        await load();
        return `Ended the session on ${s.device || 'an unknown device'}.`;
      }));
    }
    return h('li', { class: 'session-row', test: 'session-row', 'data-current': s.current ? '1' : '0' },
      h('div', { class: 'session-main' },
        h('strong', { test: 'session-device' }, s.device || 'Unknown device'),
        h('span', { class: 'muted', test: 'session-ip' }, s.ip ? ` · ${s.ip}` : '')),
      h('div', { class: 'session-times muted' },
        'Signed in ', when(s.created), ' · last used ', when(s.lastSeen)),
      end);
  }

  async function load() {
    const answer = await api('/api/sessions/list', body());
    const sessions = Array.isArray(answer?.sessions) ? answer.sessions : [];
    list.replaceChildren(...sessions.map(row));
    el.dataset.count = String(sessions.length);
    others.hidden = !sessions.some((s) => allOfThem || !s.current);
  }

  others.addEventListener('click', () => act(others, async () => {
    const before = list.querySelectorAll(allOfThem ? '[data-current]' : '[data-current="0"]').length;
    await api('/api/sessions/end-others', body());
    await load();
    return allOfThem
      ? `Signed ${handle} out of ${plural(before, 'session')}.`
      : `Signed out ${plural(before, 'other session')}.`;
  }));

  return { el, load };
}
