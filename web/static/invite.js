/**
 * The invitation page (/invite/<token>): someone an admin invited picks
 * their handle (unless the admin set it), display name and password, and
 * is logged in. The token stays in this page: it is sent only to our own
 * server, and the page asks browsers not to pass its address on.
 */

import { api, forgetCsrfToken } from './api.js';
import { newPasswordFields } from './password-fields.js';
import { h, field, setError } from './dom.js';
import { act, setBusy, showStatus, describeError } from './status.js';

const root = document.getElementById('invite-root');
const token = decodeURIComponent(location.pathname.replace(/^\/invite\//, ''));

/** What the link allows, or why it does not work. */
async function load() {
  setBusy(true);
  try {
    const invite = await api('/api/invites/check', { token });
    render(invite);
  } catch (err) {
    const text = describeError(err);
    root.replaceChildren(
      h('h2', {}, 'This invitation does not work'),
      h('p', { test: 'invite-problem', role: 'alert' }, text),
      h('p', {}, h('a', { href: '/login' }, 'Go to the login page')),
    );
    showStatus(text, 'error');
  } finally {
    setBusy(false);
  }
}

function render(invite) {
  const handle = h('input', {
    test: 'invite-handle',
    autocomplete: 'username',
    maxlength: 64,
    required: true,
    value: invite.handle ?? '',
    readonly: Boolean(invite.handle),
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  const name = h('input', { test: 'invite-name', autocomplete: 'name', maxlength: 200, value: invite.name ?? '' });
  const fresh = newPasswordFields({
    test: 'invite-password',
    showTest: 'invite-password-show',
    label: 'Password',
    minLength: invite.passwordMinLength ?? 0,
  });
  const problem = h('p', { class: 'field-error', test: 'invite-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', test: 'invite-submit' }, 'Create my account');
  const form = h(
    'form',
    { test: 'invite-form', novalidate: true },
    h('h2', {}, 'Create your account'),
    h(
      'p',
      {},
      invite.admin ? 'You were invited as an administrator of this server.' : 'You were invited to this server.',
    ),
    field('Handle', handle, {
      hint: invite.handle
        ? 'Chosen for you by the admin.'
        : 'Your login name: lower-case letters, digits and dashes.',
    }),
    field('Display name', name),
    fresh.el,
    problem,
    submit,
  );
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
    await act(
      submit,
      async () => {
        await api('/api/invites/accept', {
          token,
          handle: handle.value.trim(),
          name: name.value.trim(),
          password: fresh.input.value,
        });
        forgetCsrfToken();
        location.assign('/');
        return 'Account created. Opening…';
      },
      { onError: (_err, text) => setError(problem, text) },
    );
  });
  root.replaceChildren(form);
  (invite.handle ? name : handle).focus();
}

load();
