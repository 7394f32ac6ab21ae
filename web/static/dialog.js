// @ts-check
/**
 * Modal dialogs of our own, built on <dialog>.
 *
 * We never use window.confirm/prompt: those cannot be styled, block the page,
 * and cannot be driven reliably by end-to-end tests. Every dialog has the same
 * two buttons, data-test="confirm-ok" and data-test="confirm-cancel", and the
 * dialog itself is data-test="confirm-dialog". Only one is open at a time.
 */

import { h, uid, setError } from './dom.js';
import { icon } from './icons.js';

/** @type {{dialog: HTMLDialogElement, cancel: () => void}|null} */
let current = null;

/**
 * Opens a dialog and resolves true when confirmed, false when cancelled
 * (Cancel button, Escape, or another dialog replacing it).
 * @param {object} options
 * @param {string} options.title
 * @param {import('./dom.js').Child} [options.body] content under the title
 * @param {string} [options.okLabel]
 * @param {string} [options.cancelLabel]
 * @param {boolean} [options.danger] red confirm button; focus starts on Cancel
 *   and Enter in a field never confirms (only the button itself does)
 * @param {() => string|void} [options.validate] returns an error text to keep it open
 * @param {string} [options.test] extra data-test name for the dialog box (`data-dialog`)
 * @returns {Promise<boolean>}
 */
export function openDialog({
  title,
  body = [],
  okLabel = 'OK',
  cancelLabel = 'Cancel',
  danger = false,
  validate,
  test = '',
}) {
  current?.cancel();

  const titleId = uid('dialog-title');
  const bodyId = uid('dialog-body');
  const error = h('p', { class: 'error', test: 'dialog-error', role: 'alert', hidden: true });
  const ok = h('button', {
    type: 'submit',
    class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`,
    test: 'confirm-ok',
    id: 'confirm-ok',
  }, okLabel);
  const cancel = h('button', {
    type: 'button',
    class: 'btn',
    test: 'confirm-cancel',
    id: 'confirm-cancel',
  }, cancelLabel);
  const form = h('form', { method: 'dialog', class: 'dialog-form', novalidate: true },
    h('h2', { id: titleId, class: 'dialog-title' },
      danger ? icon('warning', { className: 'dialog-title-icon' }) : null, title),
    h('div', { id: bodyId, class: 'dialog-body' }, body),
    error,
    h('div', { class: 'dialog-actions' }, cancel, ok),
  );
  const dialog = h('dialog', {
    class: `dialog${danger ? ' dialog-danger' : ''}`,
    test: 'confirm-dialog',
    'data-dialog': test || null,
    'aria-labelledby': titleId,
    'aria-describedby': bodyId,
  }, form);

  const opener = document.activeElement;

  return new Promise((resolve) => {
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      if (current?.dialog === dialog) current = null;
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    };
    current = { dialog, cancel: () => finish(false) };

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const problem = validate?.();
      if (problem) {
        setError(error, problem);
        return;
      }
      finish(true);
    });
    cancel.addEventListener('click', () => finish(false));
    if (danger) {
      // Enter in a field (a checkbox, a text box) would submit the form:
      // a destructive action is confirmed only by its own button.
      form.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && !(event.target instanceof HTMLButtonElement)) {
          event.preventDefault();
        }
      });
    }
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    dialog.addEventListener('close', () => finish(false));

    document.body.append(dialog);
    dialog.showModal();
    const firstInput = danger
      ? null
      : /** @type {HTMLElement|null} */ (dialog.querySelector('input, textarea, select'));
    (firstInput ?? (danger ? cancel : ok)).focus();
  });
}

/**
 * A yes/no question; `message` may be text or nodes.
 * @param {object} options
 * @param {string} options.title
 * @param {import('./dom.js').Child} options.message
 * @param {string} [options.okLabel]
 * @param {boolean} [options.danger]
 * @param {string} [options.test] as for openDialog()
 * @param {() => string|void} [options.validate] as for openDialog()
 * @returns {Promise<boolean>}
 */
export function confirmDialog({
  title, message, okLabel = 'Confirm', danger = false, test, validate,
}) {
  const body = typeof message === 'string' ? h('p', {}, message) : message;
  return openDialog({ title, body, okLabel, danger, test, validate });
}
