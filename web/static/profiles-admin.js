// @ts-check
/**
 * The admin's "Permissions" card: every permission profile with what it
 * allows, its limits, how many accounts have it and which one is the
 * default; "New profile…" and Edit open one dialog (a box per switch and
 * three limits), Delete asks first. Built-in profiles (admin, member,
 * guest) cannot be deleted, and `admin` always allows everything.
 */

import { api } from './api.js';
import { h, field, checkbox } from './dom.js';
import { act, showStatus } from './status.js';
import { openDialog, confirmDialog } from './dialog.js';
import { plural } from './format.js';
import { badLimit, limitFields, limitsSummary } from './limits.js';
import { card, button } from './view.js';

/** The profile that always allows everything (the server enforces it too). */
export const ADMIN_PROFILE = 'admin';
const NAME_RULE = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * @param {{afterChange?: () => Promise<void>}} options called after a
 *   profile is saved or deleted (the connections card reloads its grants)
 */
export function createProfilesCard({ afterChange = async () => {} } = {}) {
  const add = button('New profile…', { test: 'profile-new', iconName: 'plus', small: true });
  const refresh = button('Refresh', { test: 'profiles-refresh', iconName: 'refresh', small: true });
  const el = card('Permissions', { test: 'profiles-card', iconName: 'shield', actions: [add, refresh] });
  const tbody = h('tbody');
  const table = h('table', { class: 'table profiles-table', test: 'profiles-table' },
    h('caption', { class: 'sr-only' }, 'Permission profiles'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Profile'),
      h('th', { scope: 'col' }, 'Allows'),
      h('th', { scope: 'col' }, 'Limits'),
      h('th', { scope: 'col', class: 'num' }, 'Accounts'),
      h('th', { scope: 'col' }, 'Actions'))),
    tbody);
  el.append(
    h('p', { class: 'muted' }, 'What each account may do in its SillyTavern, and how many generations it may '
      + 'start. Accounts without a profile of their own get the default one; admins always have admin. '
      + 'Choose an account\'s profile with "Permissions…" in its row on the Accounts tab.'),
    h('div', { class: 'table-wrap table-wrap-cards' }, table),
  );

  /** The last answer of /api/permissions/profiles and /api/permissions/users. */
  /**
   * @type {{profiles: Array<Record<string, any>>, defaultProfile: string,
   *   switches: Array<{name: string, label: string}>}}
   */
  let known = { profiles: [], defaultProfile: '', switches: [] };
  /** @type {Array<{handle: string, profile: string}>} */
  let accounts = [];

  const holders = (name) => accounts.filter((a) => a.profile === name).map((a) => a.handle);

  /** The profile dialog: new (`profile` null) or an existing one. */
  async function edit(btn, profile) {
    const fresh = !profile;
    const base = profile ?? known.profiles.find((p) => p.name === known.defaultProfile) ?? { allow: [] };
    const isAdmin = profile?.name === ADMIN_PROFILE;
    const name = h('input', {
      type: 'text', test: 'profile-edit-name', autocomplete: 'off', spellcheck: 'false', maxlength: '32',
    });
    const boxes = known.switches.map((s) => ({
      name: s.name,
      ...checkbox(s.label, {
        test: 'profile-switch',
        'data-name': s.name,
        checked: isAdmin || (base.allow ?? []).includes(s.name),
        disabled: isAdmin,
      }),
    }));
    const limits = limitFields('profile', profile?.limits, 'Empty or 0: no limit.');
    const ok = await openDialog({
      title: fresh ? 'New permission profile' : `Profile ${profile.name}`,
      body: [
        fresh ? field('Name', name, { hint: '1 to 32 of a–z, 0–9, - and _, starting with a letter.' }) : null,
        h('fieldset', { class: 'check-group' },
          h('legend', {}, 'Allowed in SillyTavern'),
          isAdmin ? h('p', { class: 'hint' }, 'The admin profile always allows everything.') : null,
          boxes.map((b) => b.el)),
        limits.el,
      ],
      okLabel: fresh ? 'Create profile' : 'Save profile',
      test: 'profile-edit',
      validate: () => {
        if (fresh) {
          const typed = name.value.trim();
          if (!NAME_RULE.test(typed)) {
            return 'A profile name is 1 to 32 of a–z, 0–9, - and _, starting with a letter.';
          }
          if (known.profiles.some((p) => p.name === typed)) return `There is a profile ${typed} already.`;
        }
        return badLimit(limits.fields);
      },
    });
    const profileName = fresh ? name.value.trim() : profile.name;
    if (!ok) {
      showStatus(fresh ? 'No profile created.' : `Profile ${profileName} not changed.`, 'info');
      return;
    }
    const values = limits.values();
    await act(btn, async () => {
      const saved = await api('/api/permissions/profiles/save', {
        name: profileName,
        allow: boxes.filter((b) => b.input.checked).map((b) => b.name),
        ...values,
      });
      await load();
      await afterChange();
      return `Profile ${profileName} ${fresh ? 'created' : 'saved'}: ${limitsSummary(saved?.limits ?? values).toLowerCase()}.`;
    });
  }

  async function remove(btn, profile) {
    const who = holders(profile.name);
    const ok = await confirmDialog({
      title: `Delete the profile ${profile.name}?`,
      message: h('div', {},
        h('p', {}, who.length
          ? `${who.join(', ')} ${who.length === 1 ? 'has' : 'have'} it and will get the default profile, `
            + `${known.defaultProfile}.`
          : 'No account has it.'),
        h('p', {}, 'Shared connections granted to it are no longer shared through it.')),
      okLabel: 'Delete profile',
      danger: true,
      test: 'profile-delete',
    });
    if (!ok) {
      showStatus(`Profile ${profile.name} was kept.`, 'info');
      return;
    }
    await act(btn, async () => {
      await api('/api/permissions/profiles/delete', { name: profile.name });
      await load();
      await afterChange();
      return `Profile ${profile.name} deleted.`;
    });
  }

  function allowCell(profile) {
    const allowed = known.switches.filter((s) => (profile.allow ?? []).includes(s.name));
    const cell = h('td', { test: 'profile-allow', 'data-label': 'Allows', 'data-allow': allowed.map((s) => s.name).join(',') });
    if (allowed.length === known.switches.length) cell.append('Everything');
    else if (!allowed.length) cell.append('Nothing');
    else cell.append(h('ul', { class: 'plain-list' }, allowed.map((s) => h('li', {}, s.label))));
    return cell;
  }

  function row(profile) {
    const isDefault = profile.name === known.defaultProfile;
    const small = (text, test, options) => {
      const b = button(text, { test, small: true, 'data-name': profile.name, ...options });
      b.setAttribute('aria-label', `${text} ${profile.name}`);
      return b;
    };
    const editBtn = small('Edit…', 'profile-edit', { iconName: 'pencil' });
    editBtn.addEventListener('click', () => edit(editBtn, profile));
    /** @type {HTMLButtonElement|null} */
    let del = null;
    if (!profile.builtin) {
      const delBtn = small('Delete…', 'profile-delete', { iconName: 'trash', kind: 'danger-quiet' });
      if (isDefault) {
        delBtn.disabled = true;
        delBtn.title = 'The default profile (permissions.defaultProfile in config.yaml) cannot be deleted.';
      }
      delBtn.addEventListener('click', () => remove(delBtn, profile));
      del = delBtn;
    }
    const count = holders(profile.name).length;
    return h('tr', {
      test: 'profile-row',
      'data-name': profile.name,
      'data-builtin': profile.builtin ? '1' : '0',
      'data-default': isDefault ? '1' : '0',
    },
    h('th', { scope: 'row' }, h('div', { class: 'cell-stack' },
      h('code', { class: 'user-cell-handle', test: 'profile-name' }, profile.name),
      h('span', { class: 'chip-list' },
        profile.builtin ? h('span', { class: 'badge badge-quiet', test: 'profile-builtin' }, 'built in') : null,
        isDefault ? h('span', { class: 'badge badge-admin', test: 'profile-default' }, 'default') : null))),
    allowCell(profile),
    h('td', { test: 'profile-limits', 'data-label': 'Limits' }, limitsSummary(profile.limits)),
    h('td', { class: 'num', test: 'profile-count', 'data-label': 'Accounts', title: holders(profile.name).join(', ') },
      plural(count, 'account')),
    h('td', { class: 'row-actions', 'data-label': 'Actions' }, h('div', { class: 'action-wrap' }, editBtn, del)));
  }

  async function load() {
    const [answer, users] = await Promise.all([
      api('/api/permissions/profiles'),
      api('/api/permissions/users'),
    ]);
    known = {
      profiles: Array.isArray(answer?.profiles) ? answer.profiles : [],
      defaultProfile: answer?.defaultProfile ?? '',
      switches: Array.isArray(answer?.switches) ? answer.switches : [],
    };
    accounts = Array.isArray(users) ? users : [];
    tbody.replaceChildren(...known.profiles.map(row));
    el.dataset.count = String(known.profiles.length);
  }

  add.addEventListener('click', () => edit(add, null));
  refresh.addEventListener('click', () => act(refresh, async () => {
    await load();
    return 'Profiles updated.';
  }));

  return { el, load, profiles: () => known };
}
