/**
 * The sign-up page (/signup, while config `signup.mode` is not `off`):
 * someone picks a handle, display name and password. With `open` they are
 * logged in at once; with `approval` the page says the account waits for
 * an admin, and the login page says so too until it is approved.
 */

import { api, forgetCsrfToken, loadServerInfo } from './api.js';
import { newPasswordFields } from './password-fields.js';
import { h, field, setError } from './dom.js';
import { act, setBusy, showStatus, describeError } from './status.js';

const root = document.getElementById('signup-root');

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
  const handle = h('input', {
    test: 'signup-handle', autocomplete: 'username', maxlength: 64, required: true,
    autocapitalize: 'none', spellcheck: 'false',
  });
  const name = h('input', { test: 'signup-name', autocomplete: 'name', maxlength: 200 });
  const fresh = newPasswordFields({
    test: 'signup-password',
    showTest: 'signup-password-show',
    label: 'Password',
    minLength: info.passwordMinLength ?? 0,
  });
  const problem = h('p', { class: 'field-error', test: 'signup-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', test: 'signup-submit' }, 'Sign up');
  const form = h('form', { test: 'signup-form', novalidate: true },
    h('h2', {}, 'Create an account'),
    h('p', {}, info.signup === 'approval'
      ? 'An admin of this server approves new accounts before they can be used.'
      : 'Your account works as soon as it is made.'),
    field('Handle', handle, { hint: 'Your login name: lower-case letters, digits and dashes.' }),
    field('Display name', name),
    fresh.el,
    problem,
    submit,
    h('p', {}, h('a', { href: '/login' }, 'I already have an account')));
  form.addEventListener('input', () => setError(problem, ''));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const missing = !handle.value.trim()
      ? 'Choose a handle.'
      : !fresh.input.value
        ? 'Choose a password.'
        : fresh.mismatch();
    if (missing) {
      setError(problem, missing);
      return;
    }
    let made = null;
    await act(submit, async () => {
      made = await api('/api/signup', {
        handle: handle.value.trim(),
        name: name.value.trim(),
        password: fresh.input.value,
      });
      return made.pending ? 'Signed up: waiting for approval.' : 'Signed up. Opening…';
    }, { onError: (_err, text) => setError(problem, text) });
    if (!made) return;
    if (made.pending) {
      try {
        localStorage.setItem('innkeeper.pendingSignup', made.handle);
      } catch {
        // Private mode: the login page simply will not remind them.
      }
      waiting(made.handle);
    } else {
      forgetCsrfToken();
      location.assign('/');
    }
  });
  root.replaceChildren(form);
  handle.focus();
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
