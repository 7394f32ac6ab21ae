// @ts-check
/**
 * Busy state and status messages, shared by every page.
 *
 * Two contracts the end-to-end tests rely on (see web/TESTING.md):
 *  - `document.body.dataset.busy` is "1" while any request of ours is in
 *    flight and "0" when idle;
 *  - every finished action leaves a message in the one status region
 *    (data-test="status", with data-kind ok|error|info and a data-seq that
 *    grows by one per message), which is written *before* busy drops to "0";
 *    it may be hidden (timed out, dismissed, repeated inline) but keeps them.
 */

import { ApiError, isNetworkError } from './api.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { formatWait } from './format.js';

let depth = 0;

/**
 * Counts nested busy work; body[data-busy] is "1" while any is running.
 * @param {boolean} on
 */
export function setBusy(on) {
  depth = Math.max(0, depth + (on ? 1 : -1));
  document.body.dataset.busy = depth > 0 ? '1' : '0';
}

/**
 * Runs `work` with the page marked busy.
 * @template T
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function withBusy(work) {
  setBusy(true);
  try {
    return await work();
  } finally {
    setBusy(false);
  }
}

/** Success and "nothing done" messages hide after this long; errors stay. */
export const STATUS_HIDE_MS = 6000;

/** @type {{region: HTMLElement, polite: HTMLElement, alert: HTMLElement}|null} */
let parts = null;
let seq = 0;
let timer = 0;

/**
 * The visible message (data-test="status") and two screen-reader live
 * regions that are always mounted and never hidden, so the first message
 * is announced too: "status-live" (polite, role=status) for ok/info and
 * "status-alert" (role=alert) for errors. The visible box itself is not a
 * live region, so nothing is announced twice.
 */
function statusParts() {
  if (parts?.region.isConnected) return parts;
  let region = /** @type {HTMLElement|null} */ (document.querySelector('[data-test="status"]'));
  if (!region) {
    region = h('div', { class: 'status', test: 'status', hidden: true });
    document.body.append(region);
  }
  /**
   * @param {string} test
   * @param {import('./dom.js').Props} attrs
   * @returns {HTMLElement}
   */
  const live = (test, attrs) => /** @type {HTMLElement|null} */ (document.querySelector(`[data-test="${test}"]`))
    ?? document.body.appendChild(h('div', { class: 'sr-only', test, ...attrs }));
  parts = {
    region,
    polite: live('status-live', { role: 'status', 'aria-live': 'polite' }),
    alert: live('status-alert', { role: 'alert' }),
  };
  // Pointing at or focusing a message keeps it up while it is read.
  region.addEventListener('pointerenter', () => clearTimeout(timer));
  region.addEventListener('focusin', () => clearTimeout(timer));
  region.addEventListener('pointerleave', () => scheduleHide(region));
  return parts;
}

/** @param {HTMLElement} region */
function scheduleHide(region) {
  clearTimeout(timer);
  if (region.hidden || region.dataset.kind === 'error') return;
  timer = setTimeout(clearStatus, STATUS_HIDE_MS);
}

/**
 * Whether an inline error on the page already says `text`.
 * @param {string} text
 * @param {HTMLElement} region
 */
function saidInline(text, region) {
  const wanted = text.trim();
  return [...document.querySelectorAll('.error, [role="alert"]')].some((el) => el !== region
    && !region.contains(el) && !el.classList.contains('sr-only') && el.getClientRects().length > 0
    && el.textContent.trim() === wanted);
}

/**
 * Puts `text` into a live region so it is announced (again, if it is the same).
 * @param {HTMLElement} el
 * @param {string} text
 */
function announce(el, text) {
  el.textContent = '';
  if (text) setTimeout(() => { el.textContent = text; }, 50);
}

/**
 * Shows a message in the status region. Success (`ok`) and `info` messages
 * hide themselves after STATUS_HIDE_MS; errors stay until replaced, closed,
 * or until the view or a form field changes. An error that an inline error
 * on the page already shows is recorded (kind, seq, text) but not shown or
 * announced again (`data-inline="1"`). A hidden message keeps its kind, seq
 * and text on the element, so tests read the last message either way.
 * @param {string} message
 * @param {'ok'|'error'|'info'} kind
 */
export function showStatus(message, kind = 'ok') {
  const { region, polite, alert } = statusParts();
  seq += 1;
  region.dataset.kind = kind;
  region.dataset.seq = String(seq);
  const iconName = kind === 'error' ? 'warning' : kind === 'info' ? 'info' : 'check';
  region.replaceChildren(
    icon(iconName, { className: 'status-icon' }),
    h('span', { class: 'status-text', test: 'status-text' }, message),
    h('button', {
      type: 'button',
      class: 'btn btn-icon btn-ghost status-close',
      test: 'status-close',
      'aria-label': 'Dismiss message',
      onclick: clearStatus,
    }, icon('close')),
  );
  const inline = kind === 'error' && saidInline(message, region);
  if (inline) region.dataset.inline = '1';
  else delete region.dataset.inline;
  if (kind === 'error') region.removeAttribute('data-auto-hide');
  else region.dataset.autoHide = String(STATUS_HIDE_MS);
  region.hidden = inline;
  announce(polite, inline || kind === 'error' ? '' : message);
  announce(alert, inline || kind !== 'error' ? '' : message);
  scheduleHide(region);
}

/**
 * Hides the status message; its kind, seq and text stay on the element.
 */
export function clearStatus() {
  const { region, polite, alert } = statusParts();
  clearTimeout(timer);
  region.hidden = true;
  polite.textContent = '';
  alert.textContent = '';
}

// A message is about what just happened: typing or choosing something new
// in any field makes it old news.
for (const type of ['input', 'change']) {
  document.addEventListener(type, (event) => {
    if (parts && !parts.region.hidden && !parts.region.contains(/** @type {Node|null} */ (event.target))) clearStatus();
  }, true);
}

/**
 * Turns any thrown value into one sentence for people.
 * @param {unknown} err
 * @returns {string}
 */
export function describeError(err) {
  if (isNetworkError(err)) return 'Cannot reach the server. Check that it is running and try again.';
  if (err instanceof ApiError) {
    let text = err.message;
    if (err.status === 413) text = 'That is too large for the server to accept.';
    if (err.retryAfter !== null && err.retryAfter !== undefined) {
      text += ` (You can try again in ${formatWait(err.retryAfter)}.)`;
    }
    return text;
  }
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}

/** @type {((err: ApiError) => unknown)|null} */
let forbiddenHook = null;

/**
 * Registers what to do after a 403 (the app page checks whether the session
 * has ended, so an expired login explains itself instead of failing oddly).
 * @param {(err: ApiError) => unknown} hook
 */
export function onForbidden(hook) {
  forbiddenHook = hook;
}

/**
 * Puts a spinner in a button and disables it; returns the undo function.
 * @param {HTMLButtonElement|null} button
 * @returns {() => void}
 */
export function markButtonBusy(button) {
  if (!button) return () => {};
  const wasDisabled = button.disabled;
  const spinner = h('span', { class: 'spinner', 'aria-hidden': 'true' });
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.prepend(spinner);
  return () => {
    spinner.remove();
    button.removeAttribute('aria-busy');
    button.disabled = wasDisabled;
  };
}

/**
 * Runs one user action: spinner on its button, page busy, and a status
 * message when it ends either way.
 * @param {HTMLButtonElement|null} button the control that started it
 * @param {() => Promise<string|void>} work returns the success message
 * @param {{onError?: (err: unknown, text: string) => void}} options
 * @returns {Promise<boolean>} whether it succeeded
 */
export async function act(button, work, { onError } = {}) {
  const restore = markButtonBusy(button);
  setBusy(true);
  try {
    const message = await work();
    showStatus(message || 'Done.', 'ok');
    return true;
  } catch (err) {
    const text = describeError(err);
    // The inline error first, so the status knows not to repeat it.
    onError?.(err, text);
    showStatus(text, 'error');
    if (err instanceof ApiError && err.status === 403 && forbiddenHook) {
      try {
        await forbiddenHook(err);
      } catch {
        // The check is a courtesy; its own failure changes nothing.
      }
    }
    return false;
  } finally {
    restore();
    setBusy(false);
  }
}
