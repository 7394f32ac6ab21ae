// @ts-check
/**
 * The form someone fills in to make their own account — on an invitation
 * link and on the sign-up page: handle, display name, a password typed
 * twice, an inline problem line and the submit button, checked the same
 * way on both pages before anything is sent.
 */

import { h, field, setError } from './dom.js';
import { act } from './status.js';
import { newPasswordFields } from './password-fields.js';

const HANDLE_HINT = 'Your login name: lower-case letters, digits and dashes.';

/**
 * @param {object} o
 * @param {string} o.test prefix of the data-test names (`<test>-handle`, `<test>-form`…)
 * @param {Array<Node>} o.intro heading and text above the fields
 * @param {Array<Node>} [o.after] under the submit button
 * @param {string} o.submitLabel
 * @param {number} [o.minLength] the server's shortest password
 * @param {string} [o.handle] a handle set in advance (then read-only)
 * @param {string} [o.handleHint] replaces the usual hint under the handle
 * @param {string} [o.name] a suggested display name
 * @param {(fields: {handle: string, name: string, password: string}) => Promise<string>} o.send
 *   makes the account; its text is the status message
 * @returns {{form: HTMLFormElement, focus: () => void}}
 */
export function newAccountForm({
  test, intro, after = [], submitLabel, minLength = 0, handle: preset = '', handleHint, name: suggested = '', send,
}) {
  const handle = h('input', {
    test: `${test}-handle`,
    autocomplete: 'username',
    maxlength: 64,
    required: true,
    value: preset,
    readonly: Boolean(preset),
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  const name = h('input', { test: `${test}-name`, autocomplete: 'name', maxlength: 200, value: suggested });
  const fresh = newPasswordFields({
    test: `${test}-password`,
    showTest: `${test}-password-show`,
    label: 'Password',
    minLength,
  });
  const problem = h('p', { class: 'field-error', test: `${test}-error`, role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', test: `${test}-submit` }, submitLabel);
  const form = h('form', { test: `${test}-form`, novalidate: true },
    intro,
    field('Handle', handle, { hint: handleHint ?? HANDLE_HINT }),
    field('Display name', name),
    fresh.el,
    problem,
    submit,
    after);
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
    await act(submit, () => send({
      handle: handle.value.trim(),
      name: name.value.trim(),
      password: fresh.input.value,
    }), { onError: (_err, text) => setError(problem, text) });
  });
  return { form, focus: () => (preset ? name : handle).focus() };
}
