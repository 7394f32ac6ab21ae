// @ts-check
/**
 * The one thing someone on a temporary password can do: choose their own.
 * An admin set the password they logged in with for one use; the server
 * refuses everything else until it is replaced (SPEC: temporary
 * passwords), so the page shows only this form, then starts as usual.
 */

import { api, forgetCsrfToken } from './api.js';
import { h, field, setError } from './dom.js';
import { icon } from './icons.js';
import { act } from './status.js';
import { newPasswordFields } from './password-fields.js';
import { card, button } from './view.js';

/**
 * @param {import('./app.js').Ctx} ctx
 * @param {{onLogout: (button: HTMLButtonElement|null) => Promise<void>}} options
 */
export function createMustChangeView(ctx, { onLogout }) {
  const old = h('input', { type: 'password', autocomplete: 'current-password', test: 'must-change-old' });
  const fresh = newPasswordFields({
    test: 'must-change-new',
    showTest: 'must-change-show',
    minLength: ctx.info.passwordMinLength ?? 0,
    also: [old],
  });
  const problem = h('p', { class: 'field-error', test: 'must-change-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', test: 'must-change-submit' },
    icon('lock'), 'Set my password');
  const logout = button('Log out', { test: 'must-change-logout', iconName: 'logout' });
  logout.addEventListener('click', () => onLogout(logout));
  const form = h('form', { class: 'stack', test: 'must-change-form', novalidate: true },
    field('The password you were given', old),
    fresh.el,
    problem,
    h('div', { class: 'form-actions' }, submit, logout));
  form.addEventListener('input', () => setError(problem, ''));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const missing = !old.value
      ? 'Enter the password you were given.'
      : !fresh.input.value
        ? 'Choose your new password.'
        : fresh.mismatch();
    if (missing) {
      setError(problem, missing);
      return;
    }
    const done = await act(submit, async () => {
      await api('/api/users/change-password', {
        handle: ctx.me.handle,
        oldPassword: old.value,
        newPassword: fresh.input.value,
      });
      return 'Your password is set.';
    }, { onError: (_err, text) => setError(problem, text) });
    if (done) {
      forgetCsrfToken();
      location.reload();
    }
  });
  const el = card('Choose your own password', { test: 'must-change', iconName: 'key' });
  el.append(
    h('p', {}, 'An admin set the password you logged in with, for this one time. '
      + 'Choose your own to go on: nobody else will know it.'),
    form);
  return { el, focus: () => old.focus() };
}
