// @ts-check
/**
 * The account view: profile (name, picture, handle, role, created), password,
 * permissions (permissions.js), two-factor login, settings snapshots, backup
 * download, the two resets, and log out.
 *
 * Destructive steps (removing the password, restoring a snapshot, the resets)
 * ask first in our own dialog; the account reset also needs a one-time code
 * from the server console, so only someone the admin trusts can wipe data.
 */

import { newPasswordFields } from './password-fields.js';
import { api } from './api.js';
import { h, field, setError, append } from './dom.js';
import { icon } from './icons.js';
import { avatarImage, setAvatarSource } from './avatar.js';
import { AvatarCropper } from './avatar-crop.js';
import {
  avatarInfo, choosePersonaAvatar, describeSource, personaOptions,
} from './avatar-source.js';
import { act, withBusy, showStatus, describeError } from './status.js';
import { confirmDialog } from './dialog.js';
import { downloadWithStatus } from './download.js';
import { formatBytes, formatDate, formatDateTime, isoDate } from './format.js';
import { formatJson } from './json-check.js';
import { ACCOUNTS_OFF_HINT, PASSWORD_PRIVACY_NOTE } from './messages.js';
import { viewFrame, card, button } from './view.js';
import { createSessionsCard } from './sessions.js';
import { createTwoFactorCard } from './two-factor.js';
import { createPermissionsCard } from './permissions.js';

function errorLine(test) {
  return h('p', { class: 'error', test, role: 'alert', hidden: true });
}

/** Shows a validation problem inline and in the status region, and focuses the field. */
function complain(errorEl, text, focusEl) {
  setError(errorEl, text);
  showStatus(text, 'error');
  focusEl?.focus();
}

/* ---------- profile: picture, name, facts ---------- */

/** @param {import('./app.js').Ctx} ctx */
function createProfileCard(ctx) {
  const el = card('Profile', { test: 'profile-card', iconName: 'user' });

  // Picture
  const avatar = avatarImage(ctx.me.avatar, { size: 96, className: 'avatar avatar-xl', test: 'account-avatar' });
  const fileInput = h('input', { type: 'file', accept: 'image/*', test: 'avatar-file', class: 'file-input' });
  const cropper = new AvatarCropper();
  const saveAvatar = button('Save picture', { test: 'avatar-save', kind: 'primary', iconName: 'check' });
  const cancelAvatar = button('Cancel', { test: 'avatar-cancel' });
  const removeAvatar = button('Remove picture', { test: 'avatar-remove', iconName: 'trash' });
  const cropActions = h('div', { class: 'toolbar', hidden: true }, saveAvatar, cancelAvatar);

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    act(null, async () => {
      await cropper.load(file);
      cropActions.hidden = false;
      cropper.canvas.focus();
      return 'Picture loaded. Move the square to choose the part to keep, then save.';
    }).finally(() => {
      // Lets the same file be chosen again after a cancel.
      fileInput.value = '';
    });
  });
  cancelAvatar.addEventListener('click', () => {
    cropper.clear();
    cropActions.hidden = true;
    showStatus('Picture not changed.', 'info');
  });
  saveAvatar.addEventListener('click', () => act(saveAvatar, async () => {
    const dataUrl = cropper.toDataUrl();
    await api('/api/users/change-avatar', { handle: ctx.me.handle, avatar: dataUrl });
    cropper.clear();
    cropActions.hidden = true;
    await ctx.refreshMe();
    return 'Your picture was saved.';
  }));
  removeAvatar.addEventListener('click', () => act(removeAvatar, async () => {
    await api('/api/users/change-avatar', { handle: ctx.me.handle, avatar: '' });
    await ctx.refreshMe();
    return 'Custom picture removed: your persona picture or the default one is shown instead.';
  }));

  const source = h('p', { class: 'muted', test: 'account-avatar-source' });
  const personas = h('div', { class: 'persona-picker', test: 'persona-picker', role: 'group' });
  const personaBox = h('div', { class: 'stack' },
    h('h3', { class: 'step' }, 'Or use a persona picture'),
    h('p', { class: 'muted' }, 'Pictures of your SillyTavern personas (User Avatars/). Choosing one '
      + 'removes an uploaded picture.'),
    personas);

  /** Reads where the picture comes from and which persona pictures there are. */
  async function loadSource() {
    const info = await avatarInfo(ctx.me.handle);
    source.dataset.source = info.source;
    source.textContent = describeSource(info);
    removeAvatar.hidden = info.source !== 'custom';
    personas.replaceChildren(...personaOptions(info, (file, option) => act(option, async () => {
      await choosePersonaAvatar(ctx.me.handle, file);
      await ctx.refreshMe();
      return `Your picture is now the persona picture ${file}.`;
    })));
  }
  ctx.on('me', () => {
    withBusy(loadSource).catch((err) => showStatus(`Could not read your picture's source: ${describeError(err)}`, 'error'));
  });

  const pictureBox = h('div', { class: 'profile-picture' },
    avatar,
    h('div', { class: 'profile-picture-controls' },
      source,
      field('Upload a new picture', fileInput, {
        hint: 'Any image; it is cropped to a square here and sent at most 512×512.',
      }),
      removeAvatar));

  // Display name, edited in place
  const nameInput = h('input', {
    type: 'text',
    class: 'inline-edit',
    test: 'account-name',
    value: ctx.me.name ?? '',
    maxlength: '100',
    autocomplete: 'nickname',
  });
  const nameSave = button('Save name', { test: 'account-name-save', kind: 'primary', type: 'submit' });
  const nameError = errorLine('account-name-error');
  const nameForm = h('form', { class: 'inline-form', novalidate: true },
    field('Display name', nameInput), nameSave);
  nameInput.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      nameInput.value = ctx.me.name ?? '';
      setError(nameError, '');
    }
  });
  nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      complain(nameError, 'The display name cannot be empty.', nameInput);
      return;
    }
    setError(nameError, '');
    act(nameSave, async () => {
      await api('/api/users/change-name', { handle: ctx.me.handle, name });
      await ctx.refreshMe();
      return 'Display name saved.';
    }, { onError: (_err, text) => setError(nameError, text) });
  });

  // Facts
  const handleEl = h('dd', { test: 'account-handle' });
  const roleEl = h('dd', { test: 'account-role' });
  const createdTime = h('time', { test: 'account-created' });
  const createdEl = h('dd', {}, createdTime);
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Handle'), handleEl,
    h('dt', {}, 'Role'), roleEl,
    h('dt', {}, 'Created'), createdEl);

  function render() {
    const { me } = ctx;
    setAvatarSource(avatar, me.avatar);
    if (document.activeElement !== nameInput) nameInput.value = me.name ?? '';
    handleEl.textContent = me.handle;
    roleEl.textContent = me.admin ? 'Admin' : 'User';
    if (!ctx.accounts) roleEl.textContent += ' (single-user mode)';
    roleEl.dataset.role = me.admin ? 'admin' : 'user';
    createdTime.textContent = formatDate(me.created);
    createdTime.setAttribute('datetime', isoDate(me.created));
    createdTime.title = formatDateTime(me.created);
  }
  render();
  ctx.on('me', render);

  el.append(pictureBox, cropper.el, cropActions, personaBox, nameForm, nameError, facts);
  return { el, loadSource };
}

/* ---------- password ---------- */

/** @param {import('./app.js').Ctx} ctx */
function createPasswordCard(ctx) {
  const el = card('Password', { test: 'password-card', iconName: 'key' });
  const stateEl = h('div', { class: 'password-state', test: 'password-state', role: 'status' });
  const oldInput = h('input', { type: 'password', autocomplete: 'current-password', test: 'password-old' });
  const oldField = field('Current password', oldInput);
  const fresh = newPasswordFields({
    test: 'password-new',
    showTest: 'password-show',
    minLength: ctx.info.passwordMinLength ?? 0,
    also: [oldInput],
  });
  const newInput = fresh.input;
  const saveLabel = h('span', {}, 'Set password');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', test: 'password-save' }, icon('lock'), saveLabel);
  const remove = button('Remove password', { test: 'password-remove', iconName: 'unlock', kind: 'danger-quiet' });
  const error = errorLine('password-error');
  const form = h('form', { class: 'stack', novalidate: true },
    // Lets password managers pair the passwords with this account.
    h('input', { type: 'hidden', autocomplete: 'username', value: ctx.me.handle }),
    oldField,
    fresh.el,
    error,
    h('div', { class: 'toolbar' }, save, remove));

  function render() {
    const locked = Boolean(ctx.me.password);
    stateEl.dataset.state = locked ? 'locked' : 'unlocked';
    stateEl.replaceChildren(
      icon(locked ? 'lock' : 'unlock'),
      h('span', {}, locked
        ? 'Your account is protected by a password.'
        : 'No password: anyone who can open the login page can log in as you.'),
    );
    oldField.hidden = !locked;
    saveLabel.textContent = locked ? 'Change password' : 'Set password';
    remove.hidden = !locked;
  }
  render();
  ctx.on('me', render);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const locked = Boolean(ctx.me.password);
    if (locked && !oldInput.value) {
      complain(error, 'Enter your current password.', oldInput);
      return;
    }
    if (!newInput.value) {
      complain(error, 'Type the new password (to go without one, use "Remove password").', newInput);
      return;
    }
    if (fresh.mismatch()) {
      complain(error, fresh.mismatch(), fresh.confirm);
      return;
    }
    setError(error, '');
    act(save, async () => {
      await api('/api/users/change-password', {
        handle: ctx.me.handle,
        oldPassword: oldInput.value,
        newPassword: newInput.value,
      });
      oldInput.value = '';
      fresh.clear();
      await ctx.refreshMe();
      return locked
        ? 'Password changed. Your other sessions were logged out; this one stays.'
        : 'Password set. You will need it the next time you log in.';
    }, { onError: (_err, text) => setError(error, text) });
  });

  remove.addEventListener('click', async () => {
    if (!oldInput.value) {
      complain(error, 'Enter your current password to remove it.', oldInput);
      return;
    }
    setError(error, '');
    const ok = await confirmDialog({
      title: 'Remove your password?',
      message: 'Without a password, anyone who can open this server\'s login page can log in as you '
        + 'and see your data.',
      okLabel: 'Remove password',
      danger: true,
      test: 'password-remove',
    });
    if (!ok) {
      showStatus('Password kept.', 'info');
      return;
    }
    await act(remove, async () => {
      await api('/api/users/change-password', {
        handle: ctx.me.handle,
        oldPassword: oldInput.value,
        newPassword: '',
      });
      oldInput.value = '';
      fresh.clear();
      await ctx.refreshMe();
      return 'Password removed.';
    }, { onError: (_err, text) => setError(error, text) });
  });

  el.append(stateEl, form, h('p', { class: 'note', test: 'password-note' }, icon('info'), PASSWORD_PRIVACY_NOTE));
  return el;
}

function createAccountsOffCard() {
  const el = card('Password and login', { test: 'accounts-off-card', iconName: 'key' });
  el.append(h('p', { class: 'hint-box', test: 'accounts-off-hint' }, icon('info'), ACCOUNTS_OFF_HINT));
  return el;
}

/* ---------- settings snapshots ---------- */

/** @param {import('./app.js').Ctx} ctx */
function createSnapshotsCard(ctx) {
  const create = button('Take a snapshot now', { test: 'snapshot-create', iconName: 'plus', small: true });
  const refresh = button('Refresh', { test: 'snapshot-refresh', iconName: 'refresh', small: true });
  const el = card('Settings snapshots', { test: 'snapshots-card', iconName: 'clock', actions: [create, refresh] });

  const tbody = h('tbody');
  const table = h('table', { class: 'table snapshot-table', test: 'snapshot-table' },
    h('caption', { class: 'sr-only' }, 'Saved copies of settings.json, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Taken'),
      h('th', { scope: 'col', class: 'num' }, 'Size'),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tbody);

  const viewerTitle = h('h3', { test: 'snapshot-viewer-title', tabindex: '-1' });
  const content = h('pre', { class: 'code-view', test: 'snapshot-content', tabindex: '0' });
  const close = button('Close', { test: 'snapshot-close', iconName: 'close', small: true });
  const viewer = h('div', { class: 'snapshot-viewer', test: 'snapshot-viewer', hidden: true },
    h('div', { class: 'card-header' }, viewerTitle, close), content);
  close.addEventListener('click', () => {
    viewer.hidden = true;
    content.textContent = '';
  });

  el.append(
    h('p', { class: 'muted' },
      'Copies of settings.json kept by the server. Restoring one first saves your current settings as '
      + 'a new snapshot, so nothing is lost.'),
    h('div', { class: 'table-wrap' }, table),
    viewer,
  );

  function row(snap) {
    const when = formatDateTime(snap.date, { seconds: true });
    const view = button('View', { test: 'snapshot-view', iconName: 'eye', small: true, 'data-name': snap.name });
    const restore = button('Restore', { test: 'snapshot-restore', iconName: 'restore', small: true, 'data-name': snap.name });
    view.setAttribute('aria-label', `View the snapshot of ${when}`);
    restore.setAttribute('aria-label', `Restore the snapshot of ${when}`);

    view.addEventListener('click', () => act(view, async () => {
      const text = await api('/api/settings/load-snapshot', { name: snap.name }, { as: 'text' });
      content.textContent = formatJson(text) ?? text;
      viewerTitle.textContent = `Snapshot of ${when}`;
      viewer.dataset.name = snap.name;
      viewer.hidden = false;
      viewerTitle.focus();
      return `Showing the snapshot of ${when}.`;
    }));

    restore.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Restore this snapshot?',
        message: `settings.json will be replaced by the snapshot of ${when}. Your current settings are `
          + 'saved as a new snapshot first.',
        okLabel: 'Restore',
        danger: true,
        test: 'snapshot-restore',
      });
      if (!ok) {
        showStatus('Nothing restored.', 'info');
        return;
      }
      await act(restore, async () => {
        await api('/api/settings/restore-snapshot', { name: snap.name });
        ctx.emit('settings');
        await load();
        return `Settings restored from the snapshot of ${when}.`;
      });
    });

    return h('tr', { test: 'snapshot-row', 'data-name': snap.name },
      h('td', {},
        h('time', { datetime: isoDate(snap.date) }, when),
        h('span', { class: 'subtle file-name' }, snap.name)),
      h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(snap.size)),
      h('td', { class: 'row-actions' }, view, restore));
  }

  async function load() {
    const list = await api('/api/settings/get-snapshots');
    const snaps = (Array.isArray(list) ? list : []).slice().sort((a, b) => (b.date ?? 0) - (a.date ?? 0));
    el.dataset.count = String(snaps.length);
    tbody.replaceChildren(...(snaps.length
      ? snaps.map(row)
      : [h('tr', { test: 'snapshot-empty' }, h('td', { colspan: '3', class: 'empty' }, 'No snapshots yet.'))]));
  }

  create.addEventListener('click', () => act(create, async () => {
    const before = Number(el.dataset.count ?? 0);
    await api('/api/settings/make-snapshot');
    await load();
    // The server keeps no copy of settings identical to the newest snapshot.
    return Number(el.dataset.count) > before
      ? 'Snapshot taken.'
      : 'Your settings are the same as in the newest snapshot, so there was nothing new to keep.';
  }));
  refresh.addEventListener('click', () => act(refresh, async () => {
    await load();
    return 'Snapshot list updated.';
  }));

  return { el, load, closeViewer: () => close.click() };
}

/* ---------- backup ---------- */

/** @param {import('./app.js').Ctx} ctx */
function createBackupCard(ctx) {
  const el = card('Backup', { test: 'backup-card', iconName: 'download' });
  const download = button('Download backup', { test: 'backup-download', kind: 'primary', iconName: 'download' });
  const status = h('p', { class: 'progress', test: 'backup-status', 'aria-live': 'polite', hidden: true });
  download.addEventListener('click', () => act(download, async () => {
    const handle = ctx.me.handle;
    const result = await downloadWithStatus(status, '/api/users/backup', { handle }, `${handle}-backup.zip`);
    return `Backup downloaded: ${result.name} (${formatBytes(result.bytes)}).`;
  }));
  el.append(
    h('p', { class: 'muted' }, 'A zip of your whole data folder: settings, characters, chats, worlds, '
      + 'extensions and everything else.'),
    h('div', { class: 'toolbar' }, download),
    status,
  );
  return el;
}

/* ---------- resets ---------- */

/** @param {import('./app.js').Ctx} ctx */
function createResetSettingsCard(ctx) {
  const el = card('Reset settings', { test: 'reset-settings-card', iconName: 'restore', danger: true });
  const password = h('input', { type: 'password', autocomplete: 'current-password', test: 'reset-settings-password' });
  const passwordField = field('Your password', password, { hint: 'Confirms that it is really you.' });
  const submit = h('button', { type: 'submit', class: 'btn btn-danger', test: 'reset-settings-submit' },
    icon('restore'), 'Reset settings');
  const error = errorLine('reset-settings-error');
  const form = h('form', { class: 'stack', novalidate: true }, passwordField, error, h('div', { class: 'toolbar' }, submit));

  const render = () => {
    passwordField.hidden = !ctx.me.password;
  };
  render();
  ctx.on('me', render);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (ctx.me.password && !password.value) {
      complain(error, 'Enter your password to confirm.', password);
      return;
    }
    setError(error, '');
    // A wrong password is said before "are you sure?", not after it.
    if (ctx.me.password) {
      try {
        await withBusy(() => api('/api/users/check-password', { password: password.value }));
      } catch (err) {
        const text = describeError(err);
        setError(error, text);
        showStatus(text, 'error');
        return;
      }
    }
    const ok = await confirmDialog({
      title: 'Reset your settings?',
      message: 'settings.json goes back to the factory defaults. Your characters, chats and other files '
        + 'stay as they are. Take a snapshot first if you may want these settings back.',
      okLabel: 'Reset settings',
      danger: true,
      test: 'reset-settings',
    });
    if (!ok) {
      showStatus('Settings not reset.', 'info');
      return;
    }
    await act(submit, async () => {
      await api('/api/users/reset-settings', { password: password.value });
      password.value = '';
      ctx.emit('settings');
      await ctx.refreshMe().catch(() => {});
      return 'Your settings were reset to the factory defaults.';
    }, { onError: (_err, text) => setError(error, text) });
  });

  el.append(
    h('p', { class: 'muted' }, 'Puts settings.json back to factory defaults and keeps all your other data.'),
    form,
  );
  return el;
}

/**
 * @param {import('./app.js').Ctx} ctx
 * @param {() => Promise<void>} afterReset
 */
function createResetAllCard(ctx, afterReset) {
  const el = card('Reset everything', { test: 'reset-all-card', iconName: 'warning', danger: true });
  const request = button('Print a reset code on the server console', { test: 'reset-all-request', iconName: 'key' });
  const hint = h('p', { class: 'hint-box', test: 'reset-all-hint', 'data-state': 'idle' },
    'The code appears on the server console; ask your admin for it (or read it there if you run the server).');
  const code = h('input', {
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    spellcheck: 'false',
    maxlength: '16',
    test: 'reset-all-code',
  });
  const password = h('input', { type: 'password', autocomplete: 'current-password', test: 'reset-all-password' });
  const passwordField = field('Your password', password);
  const submit = h('button', { type: 'submit', class: 'btn btn-danger', test: 'reset-all-submit' },
    icon('trash'), 'Erase all my data');
  const error = errorLine('reset-all-error');
  const form = h('form', { class: 'stack', novalidate: true },
    h('h3', { class: 'step' }, '2. Enter the code'),
    field('Reset code', code),
    passwordField,
    error,
    h('div', { class: 'toolbar' }, submit));

  const render = () => {
    passwordField.hidden = !ctx.me.password;
  };
  render();
  ctx.on('me', render);

  request.addEventListener('click', () => act(request, async () => {
    await api('/api/users/reset-step1');
    hint.dataset.state = 'sent';
    hint.textContent = 'A reset code is now on the server console. Ask your admin for it (or read it there '
      + 'if you run the server yourself).';
    code.focus();
    return 'Reset code printed on the server console.';
  }, { onError: (_err, text) => setError(error, text) }));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!code.value.trim()) {
      complain(error, 'Enter the reset code from the server console.', code);
      return;
    }
    if (ctx.me.password && !password.value) {
      complain(error, 'Enter your password to confirm.', password);
      return;
    }
    setError(error, '');
    const ok = await confirmDialog({
      title: 'Erase everything?',
      message: h('div', {},
        h('p', {}, h('strong', {}, `This permanently deletes every file in the data folder of ${ctx.me.handle}`),
          ': settings, characters, chats, group chats, worlds, backgrounds, extensions, snapshots and the rest.'),
        h('p', {}, 'The folder is then created again, empty. This cannot be undone. If you have not '
          + 'downloaded a backup, cancel now and do that first.')),
      okLabel: 'Erase all my data',
      danger: true,
      test: 'reset-all',
    });
    if (!ok) {
      showStatus('Nothing was erased.', 'info');
      return;
    }
    await act(submit, async () => {
      await api('/api/users/reset-step2', { code: code.value.trim(), password: password.value });
      code.value = '';
      password.value = '';
      hint.dataset.state = 'idle';
      ctx.emit('settings');
      ctx.emit('data');
      await afterReset();
      return 'Your data folder was erased and created again.';
    }, { onError: (_err, text) => setError(error, text) });
  });

  el.append(
    h('p', { class: 'danger-text' }, icon('warning'),
      'Deletes your whole data folder and starts it again empty. Download a backup first.'),
    h('div', { class: 'stack' }, h('h3', { class: 'step' }, '1. Get a code'), request, hint),
    form,
  );
  return el;
}

/* ---------- the view ---------- */

/** @param {import('./app.js').Ctx} ctx */
export function createAccountView(ctx) {
  const { el, heading, body } = viewFrame('account', 'Account',
    'Your profile, password, permissions, settings snapshots and backups.');

  if (ctx.accounts && !ctx.info.autoLogin) {
    const logout = button('Log out', { test: 'account-logout', iconName: 'logout' });
    logout.addEventListener('click', () => ctx.logout(logout));
    heading.after(h('div', { class: 'view-header-actions' }, logout));
  }

  const snapshots = createSnapshotsCard(ctx);
  const sessions = ctx.accounts ? createSessionsCard() : null;
  const twoFactor = ctx.accounts ? createTwoFactorCard(ctx) : null;
  const permissions = ctx.accounts ? createPermissionsCard() : null;
  const afterReset = async () => {
    snapshots.closeViewer();
    await Promise.all([snapshots.load(), ctx.refreshMe()]);
  };

  const profile = createProfileCard(ctx);
  // append() skips the cards single-user mode has not (body.append would
  // write them as the text "undefined").
  append(body, [
    profile.el,
    ctx.accounts ? createPasswordCard(ctx) : createAccountsOffCard(),
    snapshots.el,
    createBackupCard(ctx),
    permissions?.el,
    twoFactor?.el,
    sessions?.el,
    h('h2', { class: 'section-title danger-title' }, icon('warning'), 'Danger zone'),
    createResetSettingsCard(ctx),
    createResetAllCard(ctx, afterReset),
  ]);

  /**
   * The snapshot list is reloaded on every visit (saves and restores add to
   * it), and so are the permissions (an admin may change them any time).
   */
  async function show() {
    await Promise.all([
      snapshots.load().catch((err) => showStatus(`Could not load your settings snapshots: ${describeError(err)}`, 'error')),
      profile.loadSource().catch((err) => showStatus(`Could not read your picture's source: ${describeError(err)}`, 'error')),
      sessions?.load().catch((err) => showStatus(`Could not load your signed-in sessions: ${describeError(err)}`, 'error')),
      permissions?.load().catch((err) => showStatus(`Could not read your permissions: ${describeError(err)}`, 'error')),
      twoFactor?.load().catch((err) => showStatus(`Could not read your two-factor login: ${describeError(err)}`, 'error')),
    ]);
  }

  return { el, heading, title: 'Account', show };
}
