// @ts-check
/**
 * The app page (/, or /innkeeper/ when the server hosts SillyTavern, which
 * then has /): header, navigation and the views.
 *
 * Views are built once and switched by the URL hash (#home, #account,
 * #admin), so a reload or the back button keeps people where they were and
 * unsaved edits in one view survive a visit to another. The admin view is
 * only built for admins: non-admins get neither its menu entry nor its DOM,
 * and never load its modules (admin.js is imported on demand).
 */

import { createMustChangeView } from './must-change.js';
import { createTwoFactorRequiredView } from './two-factor.js';
import { api, getJson, loadServerInfo, forgetCsrfToken, ApiError } from './api.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { avatarImage, setAvatarSource } from './avatar.js';
import {
  act, setBusy, withBusy, showStatus, clearStatus, describeError, onForbidden,
} from './status.js';
import { confirmDialog } from './dialog.js';
import { createHomeView } from './home.js';
import { createAccountView } from './account.js';

// The page shell (index.html) has all four.
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const userBox = /** @type {HTMLElement} */ (document.getElementById('topbar-user'));
const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const footer = /** @type {HTMLElement} */ (document.getElementById('footer'));

/**
 * What every view shares: server facts, the current user, and a small event
 * bus ('me' = profile changed, 'settings' = settings.json changed on the
 * server, 'data' = the data folder changed).
 * @typedef {object} Ctx
 * @property {Record<string, any>} info the server-info answer
 * @property {Record<string, any>} me the /api/users/me answer
 * @property {boolean} accounts
 * @property {(name: ContextEvent, listener: () => void) => void} on
 * @property {(name: ContextEvent) => void} emit
 * @property {() => Promise<Record<string, any>>} refreshMe
 * @property {() => boolean} hasUnsavedSettings
 * @property {(button: HTMLButtonElement|null) => Promise<void>} logout
 */

/** @typedef {'me'|'settings'|'data'} ContextEvent */

/**
 * @param {Record<string, any>} info
 * @param {Record<string, any>} me
 * @returns {Ctx}
 */
function createContext(info, me) {
  const events = new EventTarget();
  const ctx = {
    info,
    me,
    /** Accounts are on (multi-user mode); off means everyone is default-user. */
    accounts: info.accounts !== false,
    on(name, listener) {
      events.addEventListener(name, listener);
    },
    emit(name) {
      events.dispatchEvent(new Event(name));
    },
    /** Reloads /api/users/me (after a name, avatar, password or settings change). */
    async refreshMe() {
      ctx.me = await getJson('/api/users/me');
      ctx.emit('me');
      return ctx.me;
    },
    /** Set by the home view: whether the settings editor holds unsaved edits. */
    hasUnsavedSettings: () => false,
    logout,
  };
  return ctx;
}

/**
 * Set once the session is checked, before anything that reads it runs.
 * @type {Ctx}
 */
let ctx;
const views = {};
const links = {};

/** Logs out (asking first if settings edits would be lost) and leaves the app. */
async function logout(button) {
  if (ctx.hasUnsavedSettings()) {
    const ok = await confirmDialog({
      title: 'Discard unsaved settings?',
      message: 'Your edits to settings.json are not saved. Log out anyway?',
      okLabel: 'Log out',
      danger: true,
    });
    if (!ok) {
      showStatus('Still logged in.', 'info');
      return;
    }
  }
  await act(button, async () => {
    await api('/api/users/logout');
    forgetCsrfToken();
    const target = ctx.info.sso && ctx.info.ssoLogoutUrl ? ctx.info.ssoLogoutUrl : '/login';
    location.assign(target);
    return 'Logged out.';
  });
}

function renderUserBox() {
  const { me } = ctx;
  const avatar = avatarImage(me.avatar, { size: 32, className: 'avatar avatar-sm', test: 'header-avatar' });
  const name = h('span', { class: 'user-chip-name', test: 'header-name' }, me.name || me.handle);
  const chip = h('a', { class: 'user-chip', href: '#account', test: 'header-account', title: 'Your account' },
    avatar,
    name,
    me.admin && ctx.accounts ? h('span', { class: 'badge', test: 'header-role' }, 'admin') : null);
  /** @type {HTMLElement[]} */
  const parts = [chip];
  // With one account and no password, the login page logs straight back
  // in: a "Log out" button would do nothing.
  if (ctx.accounts && !ctx.info.autoLogin) {
    const button = h('button', { type: 'button', class: 'btn btn-ghost', test: 'logout' },
      icon('logout'), h('span', { class: 'label-wide' }, 'Log out'));
    button.setAttribute('aria-label', 'Log out');
    button.addEventListener('click', () => logout(button));
    parts.push(button);
  }
  userBox.replaceChildren(...parts);
  ctx.on('me', () => {
    setAvatarSource(avatar, ctx.me.avatar);
    name.textContent = ctx.me.name || ctx.me.handle;
  });
}

function renderNav() {
  const entries = [
    ['home', 'Home', 'home'],
    ['account', 'Account', 'user'],
  ];
  if (ctx.me.admin) entries.push(['admin', 'Admin', 'shield']);
  const items = entries.map(([name, label, iconName]) => {
    const link = h('a', { href: `#${name}`, class: 'nav-link', test: `nav-${name}` }, icon(iconName), label);
    links[name] = link;
    return h('li', {}, link);
  });
  // With a hosted app, SillyTavern is the main page (/) and this is the way back to it.
  if (ctx.info.app) {
    items.push(h('li', { class: 'nav-app-item' },
      h('a', { href: '/', class: 'nav-link nav-app', test: 'nav-app', title: 'Open SillyTavern' },
        icon('external'), 'Open SillyTavern')));
  }
  nav.replaceChildren(h('ul', {}, items));
}

/** The login page, coming back here afterwards (with a hosted app, / is SillyTavern). */
function loginUrl() {
  return `/login?next=${encodeURIComponent(location.pathname + location.hash)}`;
}

/** Shows the view named by the hash (unknown or forbidden names fall back to home). */
async function route({ focus = true } = {}) {
  const name = location.hash.replace(/^#\/?/, '') || 'home';
  const view = views[name] ?? views.home;
  // A message about another view is old news here.
  if (view.el.hidden) clearStatus();
  for (const [key, v] of Object.entries(views)) {
    v.el.hidden = v !== view;
    if (links[key]) {
      if (v === view) links[key].setAttribute('aria-current', 'page');
      else links[key].removeAttribute('aria-current');
    }
  }
  document.title = `${view.title} · Innkeeper`;
  if (focus) view.heading.focus({ preventScroll: false });
  await withBusy(() => view.show());
}

/** Why a session ended, in words (the server's `sessionEnded` codes). */
const SESSION_ENDED = {
  disabled: 'Your session has ended: your account was disabled.',
  deleted: 'Your session has ended: your account was deleted.',
  password_changed: 'Your session has ended: the password of your account was changed.',
  logged_out: 'Your session has ended: you logged out in another tab or window.',
  expired: 'Your session has ended: it was unused for too long.',
  too_many_sessions: 'Your session has ended: your account logged in on too many devices, and this was the oldest session.',
  ended_elsewhere: 'Your session has ended: it was signed out from the list of sessions on another device.',
  two_factor_on: 'Your session has ended: two-factor login was turned on for your account. Log in again with a code.',
};

/** After a 403: if the session itself is gone, say why and offer the way back in. */
async function checkSession() {
  const res = await fetch('/api/ping', { credentials: 'same-origin', cache: 'no-store' });
  if (res.ok || document.querySelector('[data-test="session-ended"]')) return;
  const why = await res.json().then((body) => body.sessionEnded, () => null);
  const banner = h('div', {
    class: 'banner banner-error banner-pinned', test: 'session-ended', role: 'alert', 'data-reason': why ?? '',
  },
  icon('warning'),
  h('span', { test: 'session-ended-text' }, SESSION_ENDED[why] ?? 'Your session has ended.'),
  h('a', { href: loginUrl(), test: 'session-login' }, 'Log in again'));
  document.body.prepend(banner);
}

/** An admin without a password: say what it means and offer to set one. */
function renderPasswordBanner() {
  if (!ctx.accounts || !ctx.me.admin || ctx.me.password) return;
  const set = h('button', { type: 'button', class: 'btn btn-primary', test: 'no-password-set' },
    icon('lock'), 'Set a password');
  const banner = h('div', { class: 'banner banner-warning', test: 'no-password-banner', role: 'status' },
    icon('warning'),
    h('span', {}, 'Your admin account has no password: anyone who can reach this server can use it '
      + 'and manage every account.'),
    set);
  set.addEventListener('click', () => {
    location.hash = '#account';
    requestAnimationFrame(() => {
      /** @type {HTMLElement|null} */ (document.querySelector('[data-test="password-new"]'))?.focus();
    });
  });
  ctx.on('me', () => {
    if (ctx.me.password) banner.remove();
  });
  main.prepend(banner);
}

function renderFooter() {
  const parts = [];
  if (ctx.info.version) parts.push(h('span', { test: 'server-version' }, `Innkeeper ${ctx.info.version}`));
  if (!ctx.accounts) parts.push(h('span', { class: 'muted' }, 'Single-user mode'));
  footer.replaceChildren(...parts);
}

function showBootError(err) {
  const text = describeError(err);
  main.replaceChildren(h('section', { class: 'card' },
    h('h1', {}, 'Innkeeper could not start'),
    h('p', { class: 'error', test: 'app-error', role: 'alert' }, text),
    h('button', { type: 'button', class: 'btn', test: 'app-retry', onclick: () => location.reload() },
      icon('refresh'), 'Try again')));
  showStatus(text, 'error');
}

/**
 * Keeps `--topbar-height` (the page's scroll padding) at the sticky
 * header's height, which changes when it wraps on a narrow screen, so a
 * focused field is never scrolled under it.
 */
function trackTopbarHeight() {
  const topbar = document.getElementById('topbar');
  if (!topbar) return;
  const set = () => document.documentElement.style.setProperty(
    '--topbar-height', `${Math.ceil(topbar.getBoundingClientRect().height) + 8}px`);
  new ResizeObserver(set).observe(topbar);
  set();
}

async function boot() {
  trackTopbarHeight();
  setBusy(true);
  try {
    let info;
    let me;
    try {
      [info, me] = await Promise.all([loadServerInfo(), getJson('/api/users/me')]);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        location.replace(loginUrl());
        return;
      }
      throw err;
    }
    ctx = createContext(info, me);
    onForbidden(checkSession);
    document.body.dataset.accounts = ctx.accounts ? 'on' : 'off';
    document.body.dataset.role = me.admin ? 'admin' : 'user';

    renderUserBox();
    renderFooter();
    if (me.mustChangePassword) {
      // Nothing else works until the temporary password is replaced.
      const only = createMustChangeView(ctx, { onLogout: logout });
      main.replaceChildren(only.el);
      document.title = 'Choose your password · Innkeeper';
      only.focus();
      return;
    }
    if (me.twoFactorRequired) {
      // An admin on a server that requires two-factor login: set it up first.
      const only = createTwoFactorRequiredView(ctx, { onLogout: logout });
      main.replaceChildren(only.el);
      document.title = 'Turn on two-factor login · Innkeeper';
      await only.load();
      return;
    }
    renderNav();

    views.home = createHomeView(ctx);
    views.account = createAccountView(ctx);
    if (me.admin) {
      const { createAdminView } = await import('./admin.js');
      views.admin = createAdminView(ctx);
    }
    main.replaceChildren(...Object.values(views).map((v) => v.el));
    renderPasswordBanner();

    window.addEventListener('hashchange', () => route());
    // Leaving the page (reload, another address, closing the tab) with
    // unsaved settings edits asks first, as the in-page ways out do.
    window.addEventListener('beforeunload', (event) => {
      if (ctx.hasUnsavedSettings()) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
    await route({ focus: false });
  } catch (err) {
    showBootError(err);
  } finally {
    setBusy(false);
  }
}

boot();
