// @ts-check
/**
 * The admin view: every account with its state and disk usage, creating
 * accounts, per-account actions, the full data backup, permission profiles
 * and shared connections (profiles-admin.js, connections-admin.js), the
 * hosted SillyTavern's processes (processes.js), and the audit log.
 *
 * Only built for admins (app.js), and the server checks every call anyway.
 * Disk usage is fetched per account after the list is shown, two at a time,
 * so a slow folder scan never holds up the list itself.
 */

import { api } from './api.js';
import { newPasswordFields } from './password-fields.js';
import { createCreateCard } from './admin-create.js';
import { editProfile } from './admin-profile.js';
import { h, uid, field, checkbox } from './dom.js';
import { icon } from './icons.js';
import { avatarImage } from './avatar.js';
import { act, setBusy, showStatus, describeError } from './status.js';
import { openDialog, confirmDialog } from './dialog.js';
import { downloadWithStatus } from './download.js';
import { formatBytes, formatDate, formatDateTime, isoDate, plural } from './format.js';
import { ACCOUNTS_OFF_HINT } from './messages.js';
import { viewFrame, card, button } from './view.js';
import { createProcessesCard } from './processes.js';
import { tabs } from './tabs.js';
import { createInvitesCard } from './invites-admin.js';
import { createSessionsCard } from './sessions.js';
import { actionMenu } from './menu.js';
import { auditActionWords } from './audit-actions.js';
import { editPermissions } from './user-permissions.js';
import { createProfilesCard } from './profiles-admin.js';
import { createConnectionsCard } from './connections-admin.js';

/** The account that always exists and cannot be deleted (SPEC §3). */
const DEFAULT_HANDLE = 'default-user';
const AUDIT_PAGE = 50;
const USAGE_CONCURRENCY = 2;

/**
 * Runs at most `n` tasks at once. Each task counts as busy from the moment
 * it is queued, so the page never looks idle while usage is still coming.
 */
function limiter(n) {
  let running = 0;
  const waiting = [];
  const pump = () => {
    while (running < n && waiting.length) {
      const { task, resolve, reject } = waiting.shift();
      running += 1;
      task().then(resolve, reject).finally(() => {
        running -= 1;
        setBusy(false);
        pump();
      });
    }
  };
  return (task) => new Promise((resolve, reject) => {
    setBusy(true);
    waiting.push({ task, resolve, reject });
    pump();
  });
}

/* ---------- accounts list ---------- */

/**
 * @param {import('./app.js').Ctx} ctx
 * @param {{afterChange: (handle: string) => Promise<void>, onPending?: (count: number) => void}} options
 */
function createUsersCard(ctx, { afterChange, onPending = () => {} }) {
  const filter = h('input', { type: 'search', test: 'admin-filter', autocomplete: 'off' });
  const refresh = button('Refresh', { test: 'admin-refresh', iconName: 'refresh', small: true });
  const el = card('Accounts', { test: 'admin-users-card', iconName: 'user', actions: [refresh] });
  const count = h('p', { class: 'muted', test: 'admin-user-count' });
  const tbody = h('tbody');
  const table = h('table', { class: 'table users-table', test: 'admin-users-table' },
    h('caption', { class: 'sr-only' }, 'All accounts on this server'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Account'),
      h('th', { scope: 'col' }, 'Role'),
      h('th', { scope: 'col' }, 'State'),
      h('th', { scope: 'col' }, 'Password'),
      h('th', { scope: 'col' }, 'Created'),
      h('th', { scope: 'col', class: 'num' }, 'Data'),
      h('th', { scope: 'col' }, 'Actions'))),
    tbody);
  el.append(
    h('div', { class: 'card-tools' }, field('Filter by name or handle', filter), count),
    h('div', { class: 'table-wrap table-wrap-cards' }, table),
  );

  /** handle → Promise of its usage; dropped on refresh or when the account changes. */
  const usage = new Map();
  const limit = limiter(USAGE_CONCURRENCY);
  const usageFor = (handle) => {
    if (!usage.has(handle)) {
      const promise = limit(() => api('/api/users/usage', { handle }));
      promise.catch(() => usage.delete(handle));
      usage.set(handle, promise);
    }
    return usage.get(handle);
  };

  function fillUsage(cell, handle) {
    cell.dataset.state = 'loading';
    cell.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'sr-only' }, 'Loading'));
    usageFor(handle).then((u) => {
      cell.dataset.state = 'done';
      cell.dataset.bytes = String(u?.bytes ?? 0);
      cell.replaceChildren(
        h('span', {}, formatBytes(u?.bytes)),
        h('span', { class: 'subtle' }, plural(u?.files ?? 0, 'file')),
        ...(u?.quotaBytes ? [h('span', { class: 'subtle', test: 'admin-quota' }, `of ${formatBytes(u.quotaBytes)}`)] : []),
      );
    }, (err) => {
      cell.dataset.state = 'error';
      cell.textContent = 'unknown';
      cell.title = describeError(err);
    });
  }

  function applyFilter() {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of tbody.rows) {
      const hit = !q || tr.dataset.search?.includes(q);
      tr.hidden = !hit;
      if (hit) shown += 1;
    }
    const total = tbody.rows.length;
    count.textContent = q ? `${shown} of ${plural(total, 'account')}` : plural(total, 'account');
  }
  filter.addEventListener('input', applyFilter);

  /** Runs a simple per-account call, then reloads the list. */
  function simpleAction(btn, path, handle, message) {
    return act(btn, async () => {
      await api(path, { handle });
      await afterChange(handle);
      return message;
    });
  }

  /** The current-password field an admin's own protected account needs. */
  function oldPasswordFor(user) {
    const needed = user.handle === ctx.me.handle && user.password;
    const input = h('input', { type: 'password', autocomplete: 'current-password', test: 'admin-password-old' });
    return { needed, input, el: needed ? field('Your current password', input) : null };
  }

  async function changePassword(btn, user) {
    const self = user.handle === ctx.me.handle;
    const old = oldPasswordFor(user);
    const fresh = newPasswordFields({
      test: 'admin-password-new',
      showTest: 'admin-password-show',
      minLength: ctx.info.passwordMinLength ?? 0,
      also: [old.input],
    });
    const temporary = self ? null : checkbox('Temporary: they choose their own when they next log in',
      { test: 'admin-password-temporary', checked: true });
    const ok = await openDialog({
      title: `Password for ${user.name || user.handle}`,
      body: [
        h('p', {}, self
          ? 'Set a new password for your own account.'
          : `Set a new password for ${user.handle}. All of their sessions end, so they log in again with it.`),
        old.el,
        fresh.el,
        temporary?.el,
      ],
      okLabel: 'Set password',
      test: 'admin-password',
      validate: () => {
        if (old.needed && !old.input.value) return 'Enter your current password.';
        if (!fresh.input.value) {
          return user.password
            ? 'Type the new password (to take it away, use "Remove password…" instead).'
            : 'Type the new password.';
        }
        return fresh.mismatch();
      },
    });
    if (!ok) {
      showStatus('Password not changed.', 'info');
      return;
    }
    await act(btn, async () => {
      await api('/api/users/change-password', {
        handle: user.handle,
        oldPassword: old.input.value,
        newPassword: fresh.input.value,
        temporary: Boolean(temporary?.input.checked),
      });
      await afterChange(user.handle);
      if (self) await ctx.refreshMe();
      return `New password set for ${user.handle}.`;
    });
  }

  async function removePassword(btn, user) {
    const self = user.handle === ctx.me.handle;
    const old = oldPasswordFor(user);
    const ok = await confirmDialog({
      title: `Remove the password of ${user.name || user.handle}?`,
      message: h('div', {},
        h('p', {}, self
          ? 'Without a password, anyone who can open the login page can log in as you and manage every account.'
          : `Without a password, anyone who can open the login page can log in as ${user.handle}. `
            + 'All of their sessions end.'),
        old.el),
      okLabel: 'Remove password',
      danger: true,
      test: 'admin-password-remove',
      validate: () => (old.needed && !old.input.value ? 'Enter your current password.' : undefined),
    });
    if (!ok) {
      showStatus(`The password of ${user.handle} was kept.`, 'info');
      return;
    }
    await act(btn, async () => {
      await api('/api/users/change-password', { handle: user.handle, oldPassword: old.input.value, newPassword: '' });
      await afterChange(user.handle);
      if (self) await ctx.refreshMe();
      return `Password removed from ${user.handle}.`;
    });
  }

  /** Removes someone's second factor (a lost phone): a red dialog, then the call; audited. */
  async function removeTwoFactor(btn, user) {
    const self = user.handle === ctx.me.handle;
    const ok = await confirmDialog({
      title: `Remove the two-factor login of ${user.name || user.handle}?`,
      message: self
        ? 'Your password alone will log you in, until you turn two-factor login on again on your account page.'
        : `${user.handle}'s password alone will log them in, until they turn two-factor login on again `
          + 'on their account page. Their authenticator app and recovery codes stop working.',
      okLabel: 'Remove two-factor login',
      danger: true,
      test: 'admin-two-factor-remove',
    });
    if (!ok) {
      showStatus(`The two-factor login of ${user.handle} was kept.`, 'info');
      return;
    }
    await act(btn, async () => {
      await api('/api/users/two-factor/remove', { handle: user.handle });
      await afterChange(user.handle);
      if (self) await ctx.refreshMe();
      return `Removed the two-factor login of ${user.handle}.`;
    });
  }

  async function deleteUser(btn, user) {
    const purge = checkbox('Also delete their data folder (characters, chats, settings…). This cannot be undone.',
      { test: 'admin-delete-purge' });
    // Deleting the data too asks for the handle typed out, so no stray
    // click or key press wipes a folder.
    const typed = h('input', {
      type: 'text', id: uid('delete-handle'), test: 'admin-delete-handle',
      autocomplete: 'off', spellcheck: 'false',
    });
    const typedField = h('div', { class: 'field', hidden: true },
      h('label', { for: typed.id }, `Type ${user.handle} to delete the account and its data`),
      typed);
    const pending = confirmDialog({
      title: `Delete ${user.name || user.handle}?`,
      message: h('div', {},
        h('p', {}, `The account ${user.handle} is removed and logged out everywhere.`),
        h('p', {}, `Unless you tick the box below, their data folder (${user.handle}/ in the data root) is `
          + `kept, and it is used again if an account with the handle "${user.handle}" is created later.`),
        purge.el,
        typedField),
      okLabel: 'Delete account',
      danger: true,
      test: 'admin-delete',
      validate: () => (purge.input.checked && typed.value.trim() !== user.handle
        ? `Type ${user.handle} exactly to delete their data too.`
        : undefined),
    });
    const okButton = document.querySelector('dialog[data-dialog="admin-delete"] [data-test="confirm-ok"]');
    purge.input.addEventListener('change', () => {
      typedField.hidden = !purge.input.checked;
      if (okButton) okButton.textContent = purge.input.checked ? 'Delete account and data' : 'Delete account';
    });
    const ok = await pending;
    if (!ok) {
      showStatus(`${user.handle} was not deleted.`, 'info');
      return;
    }
    const alsoData = purge.input.checked;
    await act(btn, async () => {
      await api('/api/users/delete', { handle: user.handle, purge: alsoData });
      usage.delete(user.handle);
      await afterChange(user.handle);
      return alsoData
        ? `${user.handle} and their data were deleted.`
        : `${user.handle} was deleted; their data folder was kept.`;
    });
  }

  /** Where an account is signed in, with a way to end it (in a dialog). */
  async function showSessions(btn, user) {
    const sessions = createSessionsCard({ handle: user.handle });
    const loaded = await act(btn, async () => {
      await sessions.load();
      return `Sessions of ${user.handle}: ${sessions.el.dataset.count}.`;
    });
    if (!loaded) return;
    await openDialog({
      title: `Sessions of ${user.name || user.handle}`,
      body: [sessions.el],
      okLabel: 'Done',
      cancelLabel: 'Close',
      test: 'admin-sessions',
    });
  }

  /** The account's own storage quota (blank: the server's default). */
  async function editQuota(btn, user) {
    const input = h('input', {
      type: 'number', min: 0, step: 1, inputmode: 'numeric', test: 'admin-quota-mb',
      value: user.quotaMb ?? '',
    });
    const ok = await openDialog({
      title: `Storage quota of ${user.name || user.handle}`,
      body: [
        field('Quota in MiB', input, { hint: 'Empty: the server\'s default (quotas.defaultMb). 0: no quota.' }),
      ],
      okLabel: 'Save quota',
      test: 'admin-quota',
      validate: () => (input.value === '' || /^\d+$/.test(input.value) ? '' : 'Type a whole number of MiB, or leave it empty.'),
    });
    if (!ok) {
      showStatus('Quota not changed.', 'info');
      return;
    }
    await act(btn, async () => {
      const mb = input.value === '' ? null : Number(input.value);
      await api('/api/users/set-quota', { handle: user.handle, mb });
      usage.delete(user.handle);
      await afterChange(user.handle);
      return mb === null
        ? `${user.handle} has the default quota again.`
        : `Quota of ${user.handle}: ${mb === 0 ? 'none' : `${mb} MiB`}.`;
    });
  }

  function row(user) {
    const self = user.handle === ctx.me.handle;
    const isDefault = user.handle === DEFAULT_HANDLE;
    const label = user.name || user.handle;
    const small = (text, test, options = {}) => {
      const b = button(text, { test, small: true, 'data-handle': user.handle, ...options });
      b.setAttribute('aria-label', `${text} ${label}`);
      return b;
    };

    const toggleEnabled = user.enabled
      ? small('Disable', 'admin-disable', { iconName: 'close' })
      : small('Enable', 'admin-enable', { iconName: 'check' });
    const toggleAdmin = user.admin
      ? small('Demote', 'admin-demote', { iconName: 'user' })
      : small('Promote', 'admin-promote', { iconName: 'shield' });
    const edit = small('Edit profile…', 'admin-edit', { iconName: 'pencil' });
    const password = small(user.password ? 'Change password…' : 'Set password…', 'admin-password', { iconName: 'key' });
    const removePw = small('Remove password…', 'admin-password-remove', { iconName: 'unlock', hidden: !user.password });
    const removeTwoFactorButton = small('Remove two-factor…', 'admin-two-factor-remove',
      { iconName: 'unlock', hidden: !user.twoFactor });
    const backup = small('Backup', 'admin-backup', { iconName: 'download' });
    const unlock = small('Unlock login attempts', 'admin-unlock', { iconName: 'unlock' });
    const del = small('Delete…', 'admin-delete', { iconName: 'trash', kind: 'danger-quiet' });
    const sessionsItem = small('Sessions…', 'admin-sessions', { iconName: 'user' });
    sessionsItem.addEventListener('click', () => showSessions(sessionsItem, user));
    const quota = small('Storage quota…', 'admin-quota-edit', { iconName: 'folder' });
    quota.addEventListener('click', () => editQuota(quota, user));
    const permissions = small('Permissions…', 'admin-permissions', { iconName: 'shield' });
    permissions.addEventListener('click', () => editPermissions(permissions, user, afterChange));
    const backupStatus = h('p', { class: 'progress', test: 'admin-backup-status', hidden: true });

    if (self) {
      // The server refuses these too; here they are simply not offered.
      toggleEnabled.disabled = user.enabled;
      toggleAdmin.disabled = user.admin;
      del.disabled = true;
      for (const b of [toggleEnabled, toggleAdmin, del]) if (b.disabled) b.title = 'You cannot do this to your own account.';
    }
    if (isDefault) {
      del.disabled = true;
      del.title = 'The default user cannot be deleted (it is the fallback account); disable it instead.';
    }

    toggleEnabled.addEventListener('click', () => (user.enabled
      ? simpleAction(toggleEnabled, '/api/users/disable', user.handle, `${user.handle} is disabled and logged out everywhere.`)
      : simpleAction(toggleEnabled, '/api/users/enable', user.handle, `${user.handle} can log in again.`)));
    toggleAdmin.addEventListener('click', () => (user.admin
      ? simpleAction(toggleAdmin, '/api/users/demote', user.handle, `${user.handle} is now a regular user.`)
      : simpleAction(toggleAdmin, '/api/users/promote', user.handle, `${user.handle} is now an admin.`)));
    unlock.addEventListener('click', () => simpleAction(unlock, '/api/users/clear-limits', user.handle,
      `Login attempts unlocked for ${user.handle}: they can log in and recover their password again.`));
    edit.addEventListener('click', () => editProfile(edit, user, afterChange));
    password.addEventListener('click', () => changePassword(password, user));
    removePw.addEventListener('click', () => removePassword(removePw, user));
    removeTwoFactorButton.addEventListener('click', () => removeTwoFactor(removeTwoFactorButton, user));
    del.addEventListener('click', () => deleteUser(del, user));
    backup.addEventListener('click', () => act(backup, async () => {
      const result = await downloadWithStatus(backupStatus, '/api/users/backup', { handle: user.handle },
        `${user.handle}-backup.zip`);
      return `Backup of ${user.handle} downloaded: ${result.name} (${formatBytes(result.bytes)}).`;
    }));

    // A sign-up waiting for approval: the two answers, in the row itself.
    const approval = user.pending ? [
      small('Approve', 'admin-approve', { iconName: 'check', kind: 'primary' }),
      small('Reject…', 'admin-reject', { iconName: 'close', kind: 'danger-quiet' }),
    ] : [];
    if (user.pending) {
      const [approve, reject] = approval;
      approve.addEventListener('click', () => simpleAction(approve, '/api/users/approve', user.handle,
        `${user.handle} is approved and can log in.`));
      reject.addEventListener('click', async () => {
        const ok = await confirmDialog({
          title: `Reject the sign-up of ${user.handle}?`,
          message: 'The account and its (unused) data folder are deleted. They can sign up again.',
          okLabel: 'Reject',
          danger: true,
          test: 'admin-reject',
        });
        if (!ok) {
          showStatus('Nothing rejected.', 'info');
          return;
        }
        await act(reject, async () => {
          await api('/api/users/reject', { handle: user.handle });
          usage.delete(user.handle);
          await afterChange(user.handle);
          return `The sign-up of ${user.handle} was rejected.`;
        });
      });
    }
    const state = user.pending
      ? ['badge-admin', 'pending', 'Waiting for approval']
      : user.enabled ? ['badge-ok', 'enabled', 'Enabled'] : ['badge-off', 'disabled', 'Disabled'];

    const usageCell = h('td', { class: 'num usage-cell', test: 'admin-usage', 'data-label': 'Data' });
    const tr = h('tr', {
      test: 'admin-user-row',
      'data-handle': user.handle,
      'data-enabled': user.enabled ? '1' : '0',
      'data-admin': user.admin ? '1' : '0',
      'data-search': `${user.handle} ${(user.name ?? '').toLowerCase()}`,
      class: user.enabled ? '' : 'row-disabled',
    },
    // The flex layout sits inside the cell: a flex <th> stops being a table cell.
    h('th', { scope: 'row' }, h('div', { class: 'user-cell' },
      avatarImage(user.avatar, { size: 40, className: 'avatar avatar-md', test: 'admin-user-avatar' }),
      h('span', { class: 'user-cell-text' },
        h('span', { class: 'user-cell-name', test: 'admin-user-name' }, label,
          self ? h('span', { class: 'badge badge-quiet' }, 'you') : null),
        h('code', { class: 'user-cell-handle', test: 'admin-user-handle' }, user.handle)))),
    h('td', { 'data-label': 'Role' },
      h('span', { class: `badge ${user.admin ? 'badge-admin' : 'badge-quiet'}`, test: 'admin-role', 'data-role': user.admin ? 'admin' : 'user' },
        user.admin ? 'Admin' : 'User')),
    h('td', { 'data-label': 'State' },
      h('span', { class: `badge ${state[0]}`, test: 'admin-enabled', 'data-state': state[1] }, state[2])),
    h('td', { 'data-label': 'Password' },
      h('span', { class: 'password-flag', test: 'admin-password-state', 'data-state': user.password ? 'locked' : 'unlocked' },
        icon(user.password ? 'lock' : 'unlock'), user.password ? 'Set' : 'None'),
      user.twoFactor
        ? h('span', { class: 'badge badge-quiet', test: 'admin-two-factor-state', 'data-state': 'on', title: 'Two-factor login is on' }, '2FA')
        : h('span', { test: 'admin-two-factor-state', 'data-state': 'off', hidden: true })),
    h('td', { 'data-label': 'Created' },
      h('time', { datetime: isoDate(user.created), title: formatDateTime(user.created) }, formatDate(user.created))),
    usageCell,
    h('td', { class: 'row-actions', 'data-label': 'Actions' },
      ...approval,
      actionMenu([edit, password, removePw, removeTwoFactorButton, toggleEnabled, toggleAdmin, sessionsItem, quota, permissions, backup, unlock, del], {
        label: 'More',
        ariaLabel: `Actions for ${label}`,
        test: 'admin-more',
        menuTest: 'admin-menu',
        attrs: { 'data-handle': user.handle },
      }).el,
      backupStatus));
    fillUsage(usageCell, user.handle);
    return tr;
  }

  async function load() {
    const users = await api('/api/users/get');
    const list = (Array.isArray(users) ? users : []).slice()
      .sort((a, b) => (a.created ?? 0) - (b.created ?? 0) || a.handle.localeCompare(b.handle));
    tbody.replaceChildren(...list.map(row));
    applyFilter();
    onPending(list.filter((u) => u.pending).length);
  }

  refresh.addEventListener('click', () => act(refresh, async () => {
    usage.clear();
    await load();
    return 'Account list updated.';
  }));

  return { el, load, forgetUsage: (handle) => usage.delete(handle) };
}

/* ---------- audit log ---------- */

function describeDetail(detail) {
  if (detail === null || detail === undefined || detail === '') return '';
  return typeof detail === 'string' ? detail : JSON.stringify(detail);
}

function createAuditCard() {
  const refresh = button('Refresh', { test: 'audit-refresh', iconName: 'refresh', small: true });
  const el = card('Audit log', { test: 'audit-card', iconName: 'list', actions: [refresh] });
  const tbody = h('tbody');
  const table = h('table', { class: 'table audit-table', test: 'audit-table' },
    h('caption', { class: 'sr-only' }, 'What happened on this server, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Time'),
      h('th', { scope: 'col' }, 'By'),
      h('th', { scope: 'col' }, 'Action'),
      h('th', { scope: 'col' }, 'Account'),
      h('th', { scope: 'col' }, 'From'),
      h('th', { scope: 'col' }, 'Details'))),
    tbody);
  const more = button('Load more', { test: 'audit-more', iconName: 'plus', hidden: true });
  el.append(
    h('p', { class: 'muted' }, 'Logins, account changes, recoveries and resets, newest first.'),
    // On a narrow screen each entry becomes a small card instead of a table row.
    h('div', { class: 'table-wrap table-wrap-cards' }, table),
    h('div', { class: 'toolbar' }, more),
  );

  let next = null;

  function row(entry) {
    return h('tr', { test: 'audit-row', 'data-id': String(entry.id), 'data-action': entry.action ?? '' },
      h('td', { class: 'nowrap', 'data-label': 'Time' }, h('time', { datetime: isoDate(entry.time) }, formatDateTime(entry.time, { seconds: true }))),
      h('td', { 'data-label': 'By' }, entry.actor || '—'),
      h('td', { 'data-label': 'Action' },
        h('span', { class: 'action-name', test: 'audit-action', title: entry.action ?? '' }, auditActionWords(entry.action))),
      h('td', { 'data-label': 'Account' }, entry.target || '—'),
      h('td', { class: 'nowrap', 'data-label': 'From' }, entry.ip || '—'),
      h('td', { class: 'detail', 'data-label': 'Details' }, describeDetail(entry.detail)));
  }

  /** Loads the newest page (`reset`) or the page after the last one shown. */
  async function load(reset) {
    const body = { limit: AUDIT_PAGE };
    if (!reset && next !== null) body.before = next;
    const page = await api('/api/audit/list', body);
    const entries = Array.isArray(page?.entries) ? page.entries : [];
    if (reset) tbody.replaceChildren();
    tbody.append(...entries.map(row));
    if (!tbody.rows.length) {
      tbody.append(h('tr', { test: 'audit-empty' }, h('td', { colspan: '6', class: 'empty' }, 'Nothing logged yet.')));
    }
    next = page?.next ?? null;
    more.hidden = next === null;
  }

  more.addEventListener('click', () => act(more, async () => {
    await load(false);
    return 'Older entries loaded.';
  }));
  refresh.addEventListener('click', () => act(refresh, async () => {
    await load(true);
    return 'Audit log updated.';
  }));

  return { el, load };
}

/* ---------- full backup ---------- */

function createFullBackupCard() {
  const el = card('Full backup', { test: 'admin-full-backup-card', iconName: 'download' });
  const download = button('Download full backup', { test: 'admin-full-backup', kind: 'primary', iconName: 'download' });
  const status = h('p', { class: 'progress', test: 'admin-full-backup-status', 'aria-live': 'polite', hidden: true });
  download.addEventListener('click', () => act(download, async () => {
    const result = await downloadWithStatus(status, '/api/backup/full', {}, 'innkeeper-data.zip');
    return `Full backup downloaded: ${result.name} (${formatBytes(result.bytes)}).`;
  }));
  el.append(
    h('p', { class: 'muted' }, 'A zip of the whole data root: every account\'s folder and Innkeeper\'s '
      + 'database. It can be large.'),
    h('div', { class: 'toolbar' }, download),
    status,
  );
  return el;
}

/* ---------- the view ---------- */

/** @param {import('./app.js').Ctx} ctx */
export function createAdminView(ctx) {
  const { el, heading, body } = viewFrame('admin', 'Admin', 'Accounts on this server and what happened to them.');

  const audit = createAuditCard();
  /** @type {ReturnType<typeof createUsersCard>|null} */
  let users = null;
  const processes = createProcessesCard({
    afterAction: () => Promise.all([
      processes.load(),
      audit.load(true).catch(() => {}),
    ]).then(() => {}),
  });

  /**
   * After any account change: reload the list and the newest audit entries,
   * the processes when an app is hosted (disabling or deleting an account
   * stops its SillyTavern), and the profiles (their account counts).
   */
  async function afterChange(handle) {
    users?.forgetUsage(handle);
    await Promise.all([
      users?.load(),
      ctx.info.app ? processes.load().catch(() => {}) : null,
      profiles?.load().catch(() => {}),
      audit.load(true).catch(() => {}),
    ]);
  }

  // Permission profiles and shared connections (accounts on only).
  /** @type {ReturnType<typeof createProfilesCard>|null} */
  let profiles = null;
  /** @type {ReturnType<typeof createConnectionsCard>|null} */
  let connections = null;
  const reloadAudit = () => audit.load(true).catch(() => {});
  if (ctx.accounts) {
    const shared = createConnectionsCard({ afterChange: reloadAudit });
    connections = shared;
    profiles = createProfilesCard({
      afterChange: () => Promise.all([shared.load(), reloadAudit()]).then(() => {}),
    });
  }

  const accountsPanel = [];
  if (!ctx.accounts) {
    const off = card('Accounts', { test: 'admin-accounts-off-card', iconName: 'user' });
    off.append(h('p', { class: 'hint-box', test: 'admin-accounts-off-hint' }, icon('info'), ACCOUNTS_OFF_HINT));
    accountsPanel.push(off);
  }
  const list = [];
  if (ctx.accounts) {
    users = createUsersCard(ctx, { afterChange, onPending: (n) => showPending(n) });
    accountsPanel.push(users.el);
  }
  if (ctx.info.fullBackup) accountsPanel.push(createFullBackupCard());
  list.push({ name: 'accounts', label: 'Accounts', iconName: 'user', panel: accountsPanel });
  const invites = ctx.accounts ? createInvitesCard() : null;
  if (invites && profiles && connections) {
    list.push({
      name: 'create',
      label: 'Create',
      iconName: 'plus',
      panel: [createCreateCard(ctx, () => afterChange('')), invites.el],
    });
    list.push({ name: 'permissions', label: 'Permissions', iconName: 'shield', panel: [profiles.el, connections.el] });
  }
  list.push({ name: 'processes', label: 'App processes', iconName: 'server', panel: processes.el });
  list.push({ name: 'audit', label: 'Audit log', iconName: 'list', panel: audit.el });
  const sections = tabs(list, { test: 'admin', label: 'Admin sections' });
  body.append(sections.el, ...sections.panels);

  /** How many sign-ups wait, on the Accounts tab (nothing when none). */
  const pendingBadge = h('span', { class: 'badge badge-admin', test: 'admin-pending-count', hidden: true });
  sections.el.querySelector('[data-tab="accounts"]')?.append(pendingBadge);
  function showPending(n) {
    pendingBadge.textContent = n ? String(n) : '';
    pendingBadge.hidden = n === 0;
    pendingBadge.title = `${n} sign-up${n === 1 ? '' : 's'} waiting for approval`;
  }

  let auditLoaded = false;
  /**
   * The account list, the processes, the profiles and the connections are
   * reloaded on every visit; the audit log once (then Refresh / Load more).
   */
  async function show() {
    const tasks = [];
    if (users) {
      tasks.push(users.load().catch((err) => showStatus(`Could not load the accounts: ${describeError(err)}`, 'error')));
    }
    tasks.push(processes.load().catch((err) => showStatus(`Could not load the SillyTavern processes: ${describeError(err)}`, 'error')));
    if (invites) {
      tasks.push(invites.load().catch((err) => showStatus(`Could not load the invitation links: ${describeError(err)}`, 'error')));
    }
    if (profiles && connections) {
      tasks.push(profiles.load().catch((err) => showStatus(`Could not load the permission profiles: ${describeError(err)}`, 'error')));
      tasks.push(connections.load().catch((err) => showStatus(`Could not load the shared connections: ${describeError(err)}`, 'error')));
    }
    if (!auditLoaded) {
      tasks.push(audit.load(true).then(() => {
        auditLoaded = true;
      }, (err) => showStatus(`Could not load the audit log: ${describeError(err)}`, 'error')));
    }
    await Promise.all(tasks);
  }

  return { el, heading, title: 'Admin', show };
}
