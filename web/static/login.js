// @ts-check
/**
 * The login page (/login).
 *
 * Two styles, as the server decides: a list of account cards (avatar, name,
 * lock icon when a password is needed) or, in discreet mode, a handle field
 * that reveals nothing about who has an account. Both lead to the same
 * password form (then, for accounts with two-factor login, a code step)
 * and to the "forgot password" recovery flow, whose one-time code is
 * printed on the server console for the admin to pass on.
 */

import {
  api, forgetCsrfToken, loadServerInfo, ApiError,
} from './api.js';
import { newPasswordFields } from './password-fields.js';
import { PENDING_SIGNUP_KEY } from './messages.js';
import { h, field, setError } from './dom.js';
import { icon } from './icons.js';
import { avatarImage } from './avatar.js';
import { act, setBusy, showStatus, clearStatus, describeError } from './status.js';

const root = /** @type {HTMLElement} */ (document.getElementById('login-root'));

/** @type {{info: Record<string, any>|null, users: Array<Record<string, any>>|null}} */
const state = {
  info: null,
  /** Enabled accounts from /api/users/list, or null in discreet mode. */
  users: null,
};

/** Where to go after logging in: a same-site path from ?next=, else the app. */
function nextUrl() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  if (!next.startsWith('/')) return '/';
  // Resolved the way the browser will resolve it: tabs and newlines are
  // dropped and backslashes count as slashes, so `/\t/evil.example` is
  // `//evil.example` — another site. Only this origin is followed.
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return '/';
  }
  if (url.origin !== location.origin || url.pathname.startsWith('/login')) return '/';
  return url.pathname + url.search + url.hash;
}

/** Turns typed text into what a handle looks like (handles are lowercase). */
function cleanHandle(text) {
  return text.trim().toLowerCase();
}

/**
 * Logs in and leaves for the app; the session changed, so the old CSRF
 * token is dropped. An account with two-factor login answers the right
 * password with 401 `twoFactor` and a ticket: then the code step is shown.
 */
async function logIn(handle, password) {
  try {
    await api('/api/users/login', { handle, password });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && err.data?.twoFactor && err.data.ticket) {
      renderCode(handle, err.data.ticket);
      return 'Password accepted. Now enter the code from your authenticator app.';
    }
    throw err;
  }
  return leave();
}

function leave() {
  forgetCsrfToken();
  const next = nextUrl();
  location.assign(next);
  return next === '/' && state.info?.app ? 'Logged in. Opening SillyTavern…' : 'Logged in. Opening Innkeeper…';
}

/** Replaces the card's content and moves focus to `focusEl` (or the heading). */
function show(children, focusEl) {
  root.replaceChildren(...children);
  const target = focusEl ?? root.querySelector('h2');
  if (target) {
    if (!target.matches('input, button, a')) target.setAttribute('tabindex', '-1');
    target.focus();
  }
}

function errorBox(test = 'login-error', message = '') {
  const el = h('p', { class: 'error', test, role: 'alert' });
  setError(el, message);
  return el;
}

/** A link-looking button that switches the form; an old message would only confuse there. */
function linkButton(text, test, onclick) {
  return h('button', {
    type: 'button',
    class: 'link-button',
    test,
    onclick() {
      clearStatus();
      onclick();
    },
  }, text);
}

/* ---------- list style ---------- */

function userCard(user, listError) {
  const card = h('button', {
    type: 'button',
    class: 'user-card',
    test: 'login-user-card',
    'data-handle': user.handle,
    'data-password': user.password ? '1' : '0',
  },
  avatarImage(user.avatar, { size: 72, className: 'avatar avatar-lg' }),
  h('span', { class: 'user-card-name' }, user.name || user.handle),
  h('span', { class: 'user-card-handle' }, user.handle),
  user.password
    ? h('span', { class: 'user-card-lock', test: 'login-user-lock' }, icon('lock', { label: 'Password protected' }))
    : null);

  card.addEventListener('click', () => {
    if (user.password) {
      renderPassword(user);
      return;
    }
    act(card, () => logIn(user.handle, ''), {
      onError(err, text) {
        // The account got a password since the list was loaded.
        if (err instanceof ApiError && err.status === 403 && /credentials/i.test(err.message)) {
          renderPassword({ ...user, password: true }, 'This account needs a password.');
        } else {
          setError(listError, text);
        }
      },
    });
  });
  return card;
}

function renderList(message = '') {
  const listError = errorBox('login-error', message);
  const users = state.users ?? [];
  const content = users.length
    ? h('ul', { class: 'user-grid', test: 'login-user-list' },
      users.map((user) => h('li', {}, userCard(user, listError))))
    : h('p', { class: 'empty', test: 'login-empty' },
      'No account can log in right now. Ask your admin to enable one.');
  show([
    h('h2', {}, 'Who is here?'),
    h('p', { class: 'muted' }, 'Choose your account.'),
    content,
    listError,
    h('div', { class: 'login-links' },
      linkButton('Type a handle instead', 'login-use-handle', () => renderDiscreet()),
      linkButton('Forgot password?', 'forgot-link', () => renderRecover(''))),
  ]);
}

/* ---------- password form (list style, after choosing a card) ---------- */

/**
 * The parts both login forms share: the password field, the inline error,
 * the submit button, and a login that shows a failure inline and puts the
 * cursor back in the password.
 */
function loginParts(message) {
  const password = h('input', {
    type: 'password',
    name: 'password',
    autocomplete: 'current-password',
    test: 'login-password',
  });
  const error = errorBox('login-error', message);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', test: 'login-submit' },
    'Log in');
  const attempt = (handle) => act(submit, () => logIn(handle, password.value), {
    onError(_err, text) {
      setError(error, text);
      password.select();
      password.focus();
    },
  });
  return { password, error, submit, attempt };
}

function renderPassword(user, message = '') {
  const { password, error, submit, attempt } = loginParts(message);
  const form = h('form', { class: 'login-form', novalidate: true },
    // Lets password managers pair the password with the account.
    h('input', { type: 'hidden', name: 'username', autocomplete: 'username', value: user.handle }),
    field('Password', password),
    error,
    submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // This account has a password: an empty one would only count as a
    // failed login, so it is not sent.
    if (!password.value) {
      const text = 'Enter your password.';
      setError(error, text);
      showStatus(text, 'error');
      password.focus();
      return;
    }
    attempt(user.handle);
  });

  show([
    h('div', { class: 'chosen-user', test: 'login-chosen', 'data-handle': user.handle },
      avatarImage(user.avatar, { size: 56, className: 'avatar avatar-md' }),
      h('div', {},
        h('h2', {}, user.name || user.handle),
        h('p', { class: 'muted' }, user.handle))),
    form,
    h('div', { class: 'login-links' },
      state.users
        ? linkButton('Choose another account', 'login-back', () => renderList())
        : null,
      linkButton('Forgot password?', 'forgot-link', () => renderRecover(user.handle))),
  ], password);
}

/* ---------- code step (two-factor login) ---------- */

function renderCode(handle, ticket) {
  const code = h('input', {
    type: 'text',
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    autocapitalize: 'none',
    spellcheck: 'false',
    maxlength: '16',
    test: 'login-code',
  });
  const error = errorBox('login-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', test: 'login-code-submit' },
    'Log in');
  const form = h('form', { class: 'login-form', novalidate: true },
    field('Code', code, {
      hint: 'The 6 digits your authenticator app shows, or one of your recovery codes.',
    }),
    error,
    submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!code.value.trim()) {
      const text = 'Enter the code from your authenticator app.';
      setError(error, text);
      showStatus(text, 'error');
      code.focus();
      return;
    }
    act(submit, async () => {
      const answer = await api('/api/users/login-2fa', { ticket, code: code.value.trim() });
      const left = answer?.recoveryCodesLeft;
      const message = leave();
      return typeof left === 'number' ? `${message} (Recovery code used: ${left} left.)` : message;
    }, {
      onError(err, text) {
        // The password step has to be done again (the login expired, or
        // too many wrong codes).
        if (err instanceof ApiError && err.status === 403 && /expired/i.test(err.message)) {
          backToLogin(handle, text);
          return;
        }
        setError(error, text);
        code.select();
        code.focus();
      },
    });
  });
  show([
    h('h2', {}, 'Two-factor login'),
    h('p', { class: 'muted', test: 'login-code-for', 'data-handle': handle }, `Logging in as ${handle}.`),
    form,
    h('div', { class: 'login-links' },
      linkButton('Start again', 'login-code-back', () => backToLogin(handle))),
  ], code);
}

/* ---------- discreet style ---------- */

function renderDiscreet(message = '', handleValue = '') {
  const handle = h('input', {
    type: 'text',
    name: 'username',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    test: 'discreet-handle',
    value: handleValue,
  });
  const { password, error, submit, attempt } = loginParts(message);
  const form = h('form', { class: 'login-form', novalidate: true },
    field('Handle', handle, { hint: 'Your account name, like "flux-the-cat".' }),
    field('Password', password),
    error,
    submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = cleanHandle(handle.value);
    if (!typed) {
      const text = 'Enter your handle.';
      setError(error, text);
      showStatus(text, 'error');
      handle.focus();
      return;
    }
    attempt(typed);
  });

  show([
    h('h2', {}, 'Log in'),
    form,
    h('div', { class: 'login-links' },
      state.users?.length
        ? linkButton('Show the account list', 'login-back', () => renderList())
        : null,
      linkButton('Forgot password?', 'forgot-link', () => renderRecover(cleanHandle(handle.value)))),
  ], handleValue ? password : handle);
}

/* ---------- recovery ---------- */

/** Goes back to whichever login style fits, keeping the handle. */
function backToLogin(handle, message = '') {
  const user = state.users?.find((u) => u.handle === handle);
  if (user) {
    if (user.password) renderPassword(user, message);
    else renderList(message);
  } else if (state.users && !handle) {
    renderList(message);
  } else {
    renderDiscreet(message, handle);
  }
}

function renderRecover(initialHandle) {
  const handle = h('input', {
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    test: 'recover-handle',
    value: initialHandle,
  });
  const request = h('button', { type: 'button', class: 'btn', test: 'recover-request' },
    icon('key'), 'Send a code to the server console');
  const hint = h('p', { class: 'hint-box', test: 'recover-hint', 'data-state': 'idle', role: 'note' },
    'Innkeeper prints a one-time code on the server console. Only someone who can see that console '
    + '(usually your admin) can read it.');
  const code = h('input', {
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    spellcheck: 'false',
    maxlength: '16',
    test: 'recover-code',
  });
  const fresh = newPasswordFields({
    test: 'recover-new-password',
    showTest: 'recover-password-show',
    minLength: state.info?.passwordMinLength ?? 0,
    hint: 'Leave both fields empty to remove the password from your account.',
  });
  const newPassword = fresh.input;
  const error = errorBox('recover-error');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', test: 'recover-submit' },
    'Set the new password and log in');

  const readHandle = () => {
    const typed = cleanHandle(handle.value);
    if (!typed) {
      const text = 'Enter your handle first.';
      setError(error, text);
      showStatus(text, 'error');
      handle.focus();
    }
    return typed;
  };

  request.addEventListener('click', () => {
    const typed = readHandle();
    if (!typed) return;
    setError(error, '');
    act(request, async () => {
      await api('/api/users/recover-step1', { handle: typed });
      hint.dataset.state = 'sent';
      hint.textContent = 'A one-time code is now on the server console. Ask your admin for it (or read it '
        + 'there if you run the server yourself). It works once and expires after 5 minutes.';
      code.focus();
      return 'Recovery code sent to the server console.';
    }, { onError: (_err, text) => setError(error, text) });
  });

  const form = h('form', { class: 'login-form', novalidate: true },
    h('h3', { class: 'step' }, '2. Enter the code and a new password'),
    field('Code', code),
    fresh.el,
    error,
    submit);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = readHandle();
    if (!typed) return;
    if (!code.value.trim()) {
      const text = 'Enter the code from the server console.';
      setError(error, text);
      showStatus(text, 'error');
      code.focus();
      return;
    }
    if (fresh.mismatch()) {
      setError(error, fresh.mismatch());
      showStatus(fresh.mismatch(), 'error');
      fresh.confirm.focus();
      return;
    }
    let changed = false;
    act(submit, async () => {
      await api('/api/users/recover-step2', {
        handle: typed,
        code: code.value.trim(),
        newPassword: newPassword.value,
      });
      changed = true;
      return logIn(typed, newPassword.value);
    }, {
      onError(_err, text) {
        if (changed) {
          const message = `Your password was changed, but logging in failed: ${text}`;
          backToLogin(typed, message);
          showStatus(message, 'error');
        } else {
          setError(error, text);
        }
      },
    });
  });

  show([
    h('h2', {}, 'Forgot your password?'),
    h('p', { class: 'muted' },
      'Get a one-time code, then choose a new password (or none). Passwords give basic privacy: '
      + 'your files are stored as plain files on the server.'),
    h('div', { class: 'login-form' },
      h('h3', { class: 'step' }, '1. Get a code'),
      field('Handle', handle),
      request,
      hint),
    form,
    h('div', { class: 'login-links' },
      linkButton('Back to login', 'recover-back', () => backToLogin(cleanHandle(handle.value)))),
  ], initialHandle ? request : handle);
}

/* ---------- a sign-up that waits ---------- */

/**
 * Someone who signed up from this browser and waits for approval is told
 * so here; once the account shows up on the list (approved), the note goes.
 */
function notePendingSignup() {
  let handle;
  try {
    handle = localStorage.getItem(PENDING_SIGNUP_KEY);
  } catch {
    return;
  }
  if (!handle) return;
  if (state.users?.some((u) => u.handle === handle)) {
    localStorage.removeItem(PENDING_SIGNUP_KEY);
    return;
  }
  root.before(h('p', { class: 'banner banner-warning', test: 'login-pending', role: 'status' },
    `Your sign-up "${handle}" is waiting for an admin's approval. You can log in once it is approved.`));
}

/* ---------- start ---------- */

async function boot() {
  setBusy(true);
  try {
    state.info = await loadServerInfo();
    if (!state.info.accounts) {
      // Accounts are off: everyone is the default user, there is nothing to log in to.
      location.replace('/');
      return;
    }
    const footer = /** @type {HTMLElement|null} */ (document.querySelector('[data-test="server-version"]'));
    if (footer && state.info.version) {
      footer.textContent = `Innkeeper ${state.info.version}`;
      footer.hidden = false;
    }
    if (state.info.signup && state.info.signup !== 'off') {
      root.after(h('p', { class: 'login-footer', test: 'signup-link' },
        'New here? ', h('a', { href: '/signup' }, 'Create an account')));
    }
    const users = state.info.discreet ? null : await api('/api/users/list');
    state.users = Array.isArray(users) ? users : null;
    notePendingSignup();
    if (state.users) renderList();
    else renderDiscreet();
  } catch (err) {
    const text = describeError(err);
    root.replaceChildren(
      h('h2', {}, 'Cannot load the login page'),
      errorBox('login-error', text),
      h('button', { type: 'button', class: 'btn', test: 'login-retry', onclick: () => location.reload() },
        icon('refresh'), 'Try again'),
    );
    showStatus(text, 'error');
  } finally {
    setBusy(false);
  }
}

boot();
