// @ts-check
/**
 * The invitation page (/invite/<token>): someone an admin invited picks
 * their handle (unless the admin set it), display name and password, and
 * is logged in. The token stays in this page: it is sent only to our own
 * server, and the page asks browsers not to pass its address on.
 */

import { api, forgetCsrfToken } from './api.js';
import { newAccountForm } from './new-account-form.js';
import { h } from './dom.js';
import { setBusy, showStatus, describeError } from './status.js';

const root = /** @type {HTMLElement} */ (document.getElementById('invite-root'));
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
  const { form, focus } = newAccountForm({
    test: 'invite',
    intro: [
      h('h2', {}, 'Create your account'),
      h('p', {}, invite.admin
        ? 'You were invited as an administrator of this server.'
        : 'You were invited to this server.'),
    ],
    submitLabel: 'Create my account',
    minLength: invite.passwordMinLength ?? 0,
    handle: invite.handle ?? '',
    handleHint: invite.handle ? 'Chosen for you by the admin.' : undefined,
    name: invite.name ?? '',
    async send(fields) {
      await api('/api/invites/accept', { token, ...fields });
      forgetCsrfToken();
      location.assign('/');
      return 'Account created. Opening…';
    },
  });
  root.replaceChildren(form);
  focus();
}

load();
