// @ts-check
/**
 * Two-factor login on the account page: turn it on with an authenticator
 * app (a QR code drawn by the server, and the secret as text to type in),
 * confirm with the app's first code, see the ten recovery codes once; turn
 * it off or make new recovery codes with the password.
 *
 * The same card is the only thing an admin sees when the server requires
 * two-factor login for admins and theirs is not on yet (`required`).
 */

import { api } from './api.js';
import { h, field, setError } from './dom.js';
import { icon } from './icons.js';
import { act, showStatus } from './status.js';
import { confirmDialog } from './dialog.js';
import { card, button } from './view.js';
import { plural } from './format.js';

/** The secret in groups of four, easier to type into an app. */
function grouped(secret) {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

function codeInput(test) {
  return h('input', {
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    spellcheck: 'false',
    maxlength: '16',
    test,
  });
}

/**
 * The card. `load()` reads the state again (call it on every visit);
 * `onDone` runs when the recovery codes were acknowledged after turning it
 * on (the required-enrolment page reloads into the app then).
 * @param {import('./app.js').Ctx} ctx
 * @param {{required?: boolean, onDone?: () => void}} [options]
 */
export function createTwoFactorCard(ctx, { required = false, onDone } = {}) {
  const el = card('Two-factor login', { test: 'two-factor-card', iconName: 'shield' });
  const stateEl = h('div', { class: 'password-state', test: 'two-factor-state', role: 'status' });
  const body = h('div', { class: 'stack' });
  el.append(stateEl, body);
  el.dataset.state = 'loading';

  const setState = (state, text, iconName) => {
    el.dataset.state = state;
    stateEl.dataset.state = state;
    stateEl.replaceChildren(icon(iconName), h('span', {}, text));
  };

  function renderOff() {
    setState('off', required
      ? 'This server requires two-factor login for admins. Turn it on to go on.'
      : 'Two-factor login is off: your password alone logs you in.', 'unlock');
    const start = button('Turn on two-factor login', { test: 'two-factor-start', iconName: 'shield', kind: 'primary' });
    start.addEventListener('click', () => act(start, async () => {
      const enrolment = await api('/api/users/two-factor/begin');
      renderSetup(enrolment);
      return 'Scan the QR code with your authenticator app, then enter the code it shows.';
    }));
    body.replaceChildren(
      h('p', { class: 'muted' },
        'With two-factor login, logging in also asks for a 6-digit code from an authenticator app on your '
        + 'phone (such as Aegis, FreeOTP, Google Authenticator or 1Password), so a password alone is not enough.'),
      h('div', { class: 'toolbar' }, start));
  }

  function renderSetup(enrolment) {
    setState('setup', 'Setting up: waiting for the first code from your app.', 'clock');
    const code = codeInput('two-factor-code');
    const error = h('p', { class: 'error', test: 'two-factor-error', role: 'alert', hidden: true });
    const confirm = h('button', { type: 'submit', class: 'btn btn-primary', test: 'two-factor-confirm' },
      icon('check'), 'Turn on');
    const cancel = button('Cancel', { test: 'two-factor-cancel' });
    cancel.addEventListener('click', () => {
      renderOff();
      showStatus('Two-factor login stays off.', 'info');
    });
    const form = h('form', { class: 'stack', novalidate: true },
      field('Code from the app', code, { hint: 'Six digits; a new one every 30 seconds.' }),
      error,
      h('div', { class: 'toolbar' }, confirm, required ? null : cancel));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!code.value.trim()) {
        const text = 'Enter the 6-digit code your app shows.';
        setError(error, text);
        showStatus(text, 'error');
        code.focus();
        return;
      }
      setError(error, '');
      act(confirm, async () => {
        const answer = await api('/api/users/two-factor/confirm', { code: code.value.trim() });
        renderCodes(answer.recoveryCodes ?? [], true);
        if (ctx.me) ctx.me.twoFactor = true;
        return 'Two-factor login is on. Keep your recovery codes somewhere safe.';
      }, {
        onError(_err, text) {
          setError(error, text);
          code.select();
          code.focus();
        },
      });
    });
    body.replaceChildren(
      h('p', {}, 'Scan this QR code with your authenticator app:'),
      h('img', {
        class: 'qr-code', test: 'two-factor-qr', src: enrolment.qr, width: 200, height: 200,
        alt: 'QR code for your authenticator app',
      }),
      h('p', {}, 'Or type this key into the app (a time-based code):'),
      h('p', {},
        h('code', { class: 'secret-text', test: 'two-factor-secret', 'data-secret': enrolment.secret },
          grouped(enrolment.secret))),
      form);
    code.focus();
  }

  function renderCodes(codes, justEnabled) {
    setState('codes', 'Two-factor login is on. Save your recovery codes now.', 'lock');
    const list = h('ol', { class: 'recovery-codes', test: 'two-factor-recovery-codes' },
      codes.map((c) => h('li', {}, h('code', { test: 'two-factor-recovery-code' }, c))));
    const done = button('I have saved them', { test: 'two-factor-codes-done', iconName: 'check', kind: 'primary' });
    done.addEventListener('click', async () => {
      if (justEnabled && onDone) {
        onDone();
        return;
      }
      await load();
    });
    body.replaceChildren(
      h('p', {},
        'Each of these codes logs you in once instead of a code from the app, if you lose your phone. '
        + 'They are shown only now: write them down or store them in your password manager.'),
      list,
      h('div', { class: 'toolbar' }, done));
    done.focus();
  }

  function renderOn(status) {
    setState('on', `Two-factor login is on. ${plural(status.recoveryCodesLeft, 'recovery code')} left.`, 'lock');
    stateEl.dataset.codesLeft = String(status.recoveryCodesLeft);
    const hasPassword = Boolean(ctx.me?.password);
    const proof = hasPassword
      ? h('input', { type: 'password', autocomplete: 'current-password', test: 'two-factor-password' })
      : codeInput('two-factor-off-code');
    const error = h('p', { class: 'error', test: 'two-factor-error', role: 'alert', hidden: true });
    const fresh = button('New recovery codes', { test: 'two-factor-new-codes', iconName: 'refresh' });
    const off = button('Turn off two-factor login', { test: 'two-factor-disable', iconName: 'unlock', kind: 'danger-quiet' });
    const proofBody = () => (hasPassword ? { password: proof.value } : { code: proof.value.trim() });
    const needProof = () => {
      if (proof.value.trim()) return true;
      const text = hasPassword ? 'Enter your password.' : 'Enter a code from your app.';
      setError(error, text);
      showStatus(text, 'error');
      proof.focus();
      return false;
    };
    const onError = (_err, text) => setError(error, text);
    fresh.addEventListener('click', () => {
      if (!needProof()) return;
      setError(error, '');
      act(fresh, async () => {
        const answer = await api('/api/users/two-factor/recovery-codes', proofBody());
        renderCodes(answer.recoveryCodes ?? [], false);
        return 'New recovery codes made: the old ones no longer work.';
      }, { onError });
    });
    off.addEventListener('click', async () => {
      if (!needProof()) return;
      setError(error, '');
      const ok = await confirmDialog({
        title: 'Turn off two-factor login?',
        message: required
          ? 'This server requires it for admins: you will have to turn it on again before you can go on.'
          : 'Your password alone will log you in again.',
        okLabel: 'Turn off',
        danger: true,
        test: 'two-factor-disable',
      });
      if (!ok) {
        showStatus('Two-factor login stays on.', 'info');
        return;
      }
      await act(off, async () => {
        await api('/api/users/two-factor/disable', proofBody());
        if (ctx.me) ctx.me.twoFactor = false;
        await load();
        return 'Two-factor login is off.';
      }, { onError });
    });
    body.replaceChildren(
      field(hasPassword ? 'Your password' : 'A code from your app', proof,
        { hint: 'Needed to make new recovery codes or to turn two-factor login off.' }),
      error,
      h('div', { class: 'toolbar' }, fresh, off));
  }

  async function load() {
    const status = await api('/api/users/two-factor/status');
    if (status.enabled) renderOn(status);
    else renderOff();
  }

  return { el, load };
}

/**
 * The page an admin sees when the server requires two-factor login and
 * theirs is off: the card and a way to log out, nothing else.
 * @param {import('./app.js').Ctx} ctx
 * @param {{onLogout: (button: HTMLButtonElement|null) => Promise<void>}} options
 */
export function createTwoFactorRequiredView(ctx, { onLogout }) {
  const logout = button('Log out', { test: 'two-factor-required-logout', iconName: 'logout' });
  logout.addEventListener('click', () => onLogout(logout));
  const twoFactor = createTwoFactorCard(ctx, { required: true, onDone: () => location.reload() });
  const el = h('div', { class: 'stack', test: 'two-factor-required' },
    h('p', { class: 'notice' },
      'This server requires two-factor login for admins. Set it up with an authenticator app to go on.'),
    twoFactor.el,
    h('div', { class: 'toolbar' }, logout));
  return { el, load: twoFactor.load };
}
