// @ts-check
/**
 * A new password, typed twice: the field, its strength hint, a second
 * field to confirm it, and a "Show passwords" box. Used wherever a new
 * password is chosen (account, admin create and password dialog,
 * recovery), so they all check the same way.
 */

import { h, field, checkbox } from './dom.js';
import { passwordHint } from './password-hint.js';

export const PASSWORDS_DIFFER = 'The two passwords differ: type the same password in both fields.';

/**
 * @param {object} options
 * @param {string} options.test data-test of the new-password field; the
 *   second field is `<test>-confirm`
 * @param {string} options.showTest data-test of the "Show passwords" box
 * @param {number} [options.minLength] the server's minimum (for the hint)
 * @param {string} [options.label]
 * @param {string} [options.hint] under the first field
 * @param {HTMLInputElement[]} [options.also] other password fields the box shows too
 */
export function newPasswordFields({
  test, showTest, minLength = 0, label = 'New password', hint, also = [],
}) {
  const input = h('input', { type: 'password', autocomplete: 'new-password', test });
  const confirm = h('input', { type: 'password', autocomplete: 'new-password', test: `${test}-confirm` });
  const show = checkbox('Show passwords', { test: showTest });
  show.input.addEventListener('change', () => {
    for (const el of [input, confirm, ...also]) el.type = show.input.checked ? 'text' : 'password';
  });
  return {
    input,
    confirm,
    el: [
      field(label, input, { hint }),
      passwordHint(input, minLength),
      field('Type it again', confirm),
      show.el,
    ],
    /** The problem to show when the two fields differ, else ''. */
    mismatch: () => (input.value === confirm.value ? '' : PASSWORDS_DIFFER),
    clear() {
      input.value = '';
      confirm.value = '';
      show.input.checked = false;
      for (const el of [input, confirm, ...also]) el.type = 'password';
      input.dispatchEvent(new Event('input'));
    },
  };
}
