// @ts-check
/**
 * The sign-up page (/signup, while config `signup.mode` is not `off`):
 * someone picks a handle, display name and password. With `open` they are
 * logged in at once; with `approval` the page says the account waits for
 * an admin, and the login page says so too until it is approved.
 */

import { api, forgetCsrfToken, loadServerInfo } from './api.js';
import { newAccountForm } from './new-account-form.js';
import { PENDING_SIGNUP_KEY } from './messages.js';
import { h } from './dom.js';
import { setBusy, showStatus, describeError } from './status.js';

const root = /** @type {HTMLElement} */ (document.getElementById('signup-root'));

function waiting(handle) {
  root.replaceChildren(
    h('h2', {}, 'Thank you'),
    h('p', { test: 'signup-waiting', role: 'status' },
      `Your account "${handle}" is made and waits for an admin's approval. `
      + 'You can log in once they have approved it.'),
    h('p', {}, h('a', { href: '/login', test: 'signup-login' }, 'Go to the login page')),
  );
}

function render(info) {
  const { form, focus } = newAccountForm({
    test: 'signup',
    intro: [
      h('h2', {}, 'Create an account'),
      h('p', {}, info.signup === 'approval'
        ? 'An admin of this server approves new accounts before they can be used.'
        : 'Your account works as soon as it is made.'),
    ],
    after: [h('p', {}, h('a', { href: '/login' }, 'I already have an account'))],
    submitLabel: 'Sign up',
    minLength: info.passwordMinLength ?? 0,
    async send(fields) {
      const made = await api('/api/signup', fields);
      if (!made.pending) {
        forgetCsrfToken();
        location.assign('/');
        return 'Signed up. Opening…';
      }
      try {
        localStorage.setItem(PENDING_SIGNUP_KEY, made.handle);
      } catch {
        // Private mode: the login page simply will not remind them.
      }
      waiting(made.handle);
      return 'Signed up: waiting for approval.';
    },
  });
  root.replaceChildren(form);
  focus();
}

async function load() {
  setBusy(true);
  try {
    render(await loadServerInfo());
  } catch (err) {
    const text = describeError(err);
    root.replaceChildren(h('p', { role: 'alert' }, text));
    showStatus(text, 'error');
  } finally {
    setBusy(false);
  }
}

load();
