/**
 * Busy state and status messages, shared by every page.
 *
 * Two contracts the end-to-end tests rely on (see web/TESTING.md):
 *  - `document.body.dataset.busy` is "1" while any request of ours is in
 *    flight and "0" when idle;
 *  - every finished action leaves a message in the one status region
 *    (data-test="status", with data-kind ok|error|info and a data-seq that
 *    grows by one per message), which is written *before* busy drops to "0".
 */

import { ApiError, isNetworkError } from './api.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { formatWait } from './format.js';

let depth = 0;

/** Counts nested busy work; body[data-busy] is "1" while any is running. */
export function setBusy(on) {
  depth = Math.max(0, depth + (on ? 1 : -1));
  document.body.dataset.busy = depth > 0 ? '1' : '0';
}

/** Runs `work` with the page marked busy. */
export async function withBusy(work) {
  setBusy(true);
  try {
    return await work();
  } finally {
    setBusy(false);
  }
}

let region = null;
let seq = 0;

function statusRegion() {
  if (region) return region;
  region = document.querySelector('[data-test="status"]');
  if (!region) {
    region = h('div', { class: 'status', test: 'status', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  return region;
}

/**
 * Shows a message in the status region until the next one replaces it or the
 * user dismisses it. Messages stay put (no timer) so nobody has to read fast.
 * @param {string} message
 * @param {'ok'|'error'|'info'} kind
 */
export function showStatus(message, kind = 'ok') {
  const el = statusRegion();
  seq += 1;
  el.dataset.kind = kind;
  el.dataset.seq = String(seq);
  const iconName = kind === 'error' ? 'warning' : kind === 'info' ? 'info' : 'check';
  el.replaceChildren(
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
  el.hidden = false;
}

/** Hides the status region. */
export function clearStatus() {
  const el = statusRegion();
  el.hidden = true;
  el.replaceChildren();
  el.dataset.kind = '';
}

/** Turns any thrown value into one sentence for people. */
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

let forbiddenHook = null;

/**
 * Registers what to do after a 403 (the app page checks whether the session
 * has ended, so an expired login explains itself instead of failing oddly).
 */
export function onForbidden(hook) {
  forbiddenHook = hook;
}

/** Puts a spinner in a button and disables it; returns the undo function. */
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
    showStatus(text, 'error');
    onError?.(err, text);
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
