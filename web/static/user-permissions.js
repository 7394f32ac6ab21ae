// @ts-check
/**
 * The admin's "Permissions…" dialog for one account (a row of the account
 * list): its permission profile (its own, or the default) and its own
 * limits over the profile's (empty: the profile's, 0: no limit for this
 * account), with what it used this hour and today and a chart of the last
 * 14 days.
 */

import { api } from './api.js';
import { h, field } from './dom.js';
import { act, showStatus } from './status.js';
import { openDialog } from './dialog.js';
import { formatNumber } from './format.js';
import {
  badLimit, limitFields, limitWords, usedOf,
} from './limits.js';
import { usageChart } from './usage-chart.js';
import { ADMIN_PROFILE } from './profiles-admin.js';

const PER = { perHour: 'per hour', perDay: 'per day', atOnce: 'at once' };

/**
 * @param {HTMLButtonElement} btn the menu item that opened it
 * @param {{handle: string, name?: string, admin?: boolean}} user
 * @param {(handle: string) => Promise<void>} afterChange reloads what shows it
 */
export async function editPermissions(btn, user, afterChange) {
  // Typed by a cast so the checker does not take it for null after act().
  let known = /** @type {{answer: any, mine: any, history: any}|null} */ (null);
  const loaded = await act(btn, async () => {
    const [answer, users, history] = await Promise.all([
      api('/api/permissions/profiles'),
      api('/api/permissions/users'),
      api('/api/permissions/usage', { handle: user.handle }),
    ]);
    const mine = (Array.isArray(users) ? users : []).find((u) => u.handle === user.handle);
    if (!mine) throw new Error(`${user.handle} is not in the permissions list.`);
    known = { answer, mine, history };
    return `Permissions of ${user.handle}: profile ${mine.profile}.`;
  });
  // The work sets `known` whenever it succeeds.
  if (!loaded || !known) return;
  const { answer, mine, history } = known;
  const profiles = Array.isArray(answer?.profiles) ? answer.profiles : [];
  const defaultName = answer?.defaultProfile ?? '';

  const select = h('select', { test: 'admin-permissions-profile' },
    h('option', { value: '' }, `Default (${defaultName})`),
    profiles.map((p) => h('option', { value: p.name }, p.name)));
  select.value = mine.chosen ?? '';

  /** The profile that applies with the current choice (admins: always admin). */
  const applied = () => {
    const name = user.admin ? ADMIN_PROFILE : select.value || defaultName;
    return profiles.find((p) => p.name === name) ?? { name, limits: {} };
  };
  const hintFor = (f) => `Empty: the profile's (${limitWords(applied().limits?.[f.key], PER[f.key])}). 0: no limit.`;
  const limits = limitFields('admin-permissions', mine.overrides, hintFor);
  select.addEventListener('change', () => {
    for (const f of limits.fields) f.hint.textContent = hintFor(f);
  });

  const used = history?.usage ?? mine.usage ?? {};
  const eff = history?.limits ?? mine.limits ?? {};
  const running = Number(mine.running ?? 0);
  const usageLine = [
    usedOf(used.hour, eff.perHour, 'this hour'),
    usedOf(used.day, eff.perDay, 'today'),
    running ? `${formatNumber(running)} running now` : null,
  ].filter(Boolean).join(' · ');

  const ok = await openDialog({
    title: `Permissions of ${user.name || user.handle}`,
    body: [
      user.admin ? h('p', { class: 'hint-box', test: 'admin-permissions-admin-note' },
        `${user.handle} is an admin, and admins always have the admin profile. The profile chosen here applies `
        + 'once they are a regular user; the limits below apply now.') : null,
      field('Profile', select, { hint: 'The default is permissions.defaultProfile in config.yaml.' }),
      limits.el,
      h('h3', { class: 'step' }, 'Usage'),
      h('p', { test: 'admin-permissions-usage' }, usageLine),
      usageChart(history?.days ?? [], { perDay: eff.perDay }),
    ],
    okLabel: 'Save permissions',
    test: 'admin-permissions',
    validate: () => badLimit(limits.fields),
  });
  if (!ok) {
    showStatus(`Permissions of ${user.handle} not changed.`, 'info');
    return;
  }
  const chosen = select.value || null;
  const values = limits.values();
  await act(btn, async () => {
    await api('/api/permissions/users/set', { handle: user.handle, profile: chosen, ...values });
    await afterChange(user.handle);
    return `Permissions of ${user.handle} saved: profile ${chosen ?? `${defaultName} (the default)`}.`;
  });
}
