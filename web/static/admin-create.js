// @ts-check
/**
 * The admin's "Create an account" form. Before anything is created it says
 * what will be: the handle the name suggests (cut to 64 characters, saying
 * so, when the name is long), the handle a typed one becomes when the
 * server rewrites it, that a handle is taken, and that a data folder kept
 * from a deleted account of that handle will belong to the new account.
 * All of that comes from one admin call, /api/users/check-handle.
 */

import { api, ApiError } from './api.js';
import { h, field, checkbox, setError } from './dom.js';
import { icon } from './icons.js';
import { act, setBusy, showStatus } from './status.js';
import { newPasswordFields } from './password-fields.js';
import { PASSWORD_PRIVACY_NOTE } from './messages.js';
import { card } from './view.js';

/**
 * What /api/users/check-handle says about a name or typed handle.
 * @typedef {object} HandleCheck
 * @property {string} handle the handle it becomes ("" when nothing is left)
 * @property {boolean} tooLong cut to 64 characters
 * @property {boolean} taken an account has it
 * @property {boolean} folderExists a data folder was kept under it
 */

/**
 * What /api/users/check-handle says about `text`.
 * @param {string} text
 * @returns {Promise<HandleCheck>}
 */
export function checkHandle(text) {
  return api('/api/users/check-handle', { text });
}

/**
 * The note under the handle field for a check of `typed` (empty: from the name).
 * @param {HandleCheck} check
 * @param {string} typed
 */
function describe(check, typed) {
  /** @type {string[]} */
  const said = [];
  /** @type {string[]} */
  const states = [];
  const { handle } = check;
  if (!handle) {
    if (typed) {
      states.push('empty');
      said.push('A handle needs at least one letter (a–z) or digit.');
    }
    return { states, said };
  }
  if (typed && handle !== typed) {
    states.push('rewritten');
    said.push(`Handles use only a–z, 0–9 and "-": this one becomes ${handle}.`);
  }
  if (check.tooLong) {
    states.push('cut');
    said.push(`Too long for a handle (at most 64 characters): cut to ${handle}.`);
  }
  if (check.taken) {
    states.push('taken');
    said.push(`User already exists: ${handle}. Choose another handle.`);
  } else if (check.folderExists) {
    states.push('folder');
    said.push(`A data folder ${handle}/ was kept from a deleted account: the new account takes over its `
      + 'data (settings, characters, chats and the rest).');
  }
  return { states, said };
}

/**
 * @param {import('./app.js').Ctx} ctx
 * @param {() => Promise<void>} onCreated
 */
export function createCreateCard(ctx, onCreated) {
  const el = card('Create an account', { test: 'admin-create-card', iconName: 'plus' });
  const name = h('input', { type: 'text', test: 'admin-create-name', autocomplete: 'off', maxlength: '100' });
  const handle = h('input', {
    type: 'text',
    test: 'admin-create-handle',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  const note = h('p', { class: 'hint handle-note', test: 'admin-create-handle-note', 'aria-live': 'polite', hidden: true });
  const password = newPasswordFields({
    test: 'admin-create-password',
    showTest: 'admin-create-password-show',
    minLength: ctx.info.passwordMinLength ?? 0,
    label: 'Password (optional)',
    hint: 'Leave both fields empty for an account without a password.',
  });
  const admin = checkbox('Make this account an admin', { test: 'admin-create-admin' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', test: 'admin-create-submit' },
    icon('plus'), 'Create account');
  const error = h('p', { class: 'error', test: 'admin-create-error', role: 'alert', hidden: true });

  const form = h('form', { class: 'grid-form', novalidate: true },
    field('Display name', name),
    h('div', { class: 'field-group' },
      field('Handle', handle, { hint: 'Suggested from the name. Only a–z, 0–9 and "-"; it cannot be changed later.' }),
      note),
    h('div', { class: 'field-group' }, password.el),
    h('div', { class: 'field field-check' }, admin.el),
    error,
    h('div', { class: 'toolbar grid-form-full' }, submit));

  /** The handle the note shows (what Create will use), or '' before any check. */
  let shown = '';
  /** @type {HandleCheck|null} */
  let last = null;
  /**
   * @param {HandleCheck} check
   * @param {string} typed
   */
  function showCheck(check, typed) {
    last = check;
    const { states, said } = describe(check, typed);
    shown = check.handle;
    note.dataset.state = states.join(' ');
    note.dataset.handle = check.handle;
    note.textContent = said.join(' ');
    note.hidden = said.length === 0;
  }

  // Suggest a handle from the name until the admin types one; check a
  // typed one. Busy from the first keystroke until the answer is shown.
  let handleTouched = false;
  let seq = 0;
  let timer = 0;
  let holdingBusy = false;
  function recheck() {
    clearTimeout(timer);
    if (!holdingBusy) {
      holdingBusy = true;
      setBusy(true);
    }
    seq += 1;
    const mine = seq;
    timer = setTimeout(async () => {
      const typed = handleTouched ? handle.value.trim() : '';
      const text = typed || name.value.trim();
      try {
        const check = text ? await checkHandle(text) : null;
        if (mine !== seq) return;
        if (!check) {
          note.hidden = true;
          shown = '';
          last = null;
          if (!handleTouched) handle.value = '';
          return;
        }
        if (!handleTouched) handle.value = check.handle;
        showCheck(check, typed);
      } catch {
        // No note then; Create checks again anyway.
      } finally {
        if (mine === seq && holdingBusy) {
          holdingBusy = false;
          setBusy(false);
        }
      }
    }, 250);
  }
  handle.addEventListener('input', () => {
    handleTouched = handle.value.trim() !== '';
    recheck();
  });
  name.addEventListener('input', () => {
    if (!handleTouched) recheck();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const displayName = name.value.trim();
    /** @type {[string, HTMLInputElement]|null} */
    const problem = !displayName ? ['Enter a display name.', name] : password.mismatch() ? [password.mismatch(), password.confirm] : null;
    if (problem) {
      setError(error, problem[0]);
      showStatus(problem[0], 'error');
      problem[1].focus();
      return;
    }
    setError(error, '');
    const typed = handleTouched ? handle.value.trim() : '';
    let took = false;
    act(submit, async () => {
      const check = await checkHandle(typed || displayName);
      if (!check.handle) throw new Error(typed ? 'A handle needs at least one letter (a–z) or digit.' : 'Type a handle: the name has no letter or digit to make one from.');
      // A handle is never created before the page has said what it is.
      if (check.handle !== shown || (last && (last.taken !== check.taken || last.folderExists !== check.folderExists))) {
        showCheck(check, typed);
        if (!handleTouched) handle.value = check.handle;
        throw new Error(`Check the handle: it will be ${check.handle}. Press Create again to use it.`);
      }
      if (check.taken) throw new Error(`User already exists: ${check.handle}`);
      const body = { handle: check.handle, name: displayName, admin: admin.input.checked };
      // An empty password field means no password: nothing is sent.
      if (password.input.value) body.password = password.input.value;
      let created;
      try {
        created = await api('/api/users/create', body);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) throw new Error(`User already exists: ${check.handle}`);
        throw err;
      }
      took = check.folderExists;
      form.reset();
      password.clear();
      handleTouched = false;
      note.hidden = true;
      shown = '';
      last = null;
      await onCreated();
      const h2 = created?.handle ?? check.handle;
      return took
        ? `Account ${h2} created. It took over the data folder ${h2}/ kept from before.`
        : `Account ${h2} created.`;
    }, { onError: (_err, text) => setError(error, text) });
  });

  el.append(form, h('p', { class: 'note' }, icon('info'), PASSWORD_PRIVACY_NOTE));
  return el;
}
