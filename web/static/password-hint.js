// @ts-check
/**
 * A line under a new-password field: how strong the typed password looks
 * and, when the server sets a minimum length, whether it is long enough.
 * A hint, not a rule: only the minimum length is enforced (by the server).
 */

import { h, uid, describe } from './dom.js';

/** 'short' (under the minimum), 'weak', 'fair' or 'strong'. */
export function passwordStrength(text, minLength = 0) {
  const length = [...text].length;
  if (length < minLength) return 'short';
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(text)).length;
  if (length >= 16 || (length >= 12 && kinds >= 3)) return 'strong';
  if (length >= 8 && kinds >= 2) return 'fair';
  return 'weak';
}

const WORDS = {
  weak: 'Strength: weak. Longer is stronger: several words, or letters with digits and symbols.',
  fair: 'Strength: fair.',
  strong: 'Strength: strong.',
};

/**
 * Attaches the hint to `input` (a new-password field) and returns it, to be
 * placed after the field. Empty while the field is.
 */
export function passwordHint(input, minLength = 0) {
  const hint = h('p', {
    class: 'hint password-strength',
    id: uid('strength'),
    // Named after its field, e.g. "password-new-strength".
    test: `${input.dataset.test ?? 'password'}-strength`,
    'aria-live': 'polite',
  });
  describe(input, hint.id);
  const update = () => {
    const text = input.value;
    if (!text) {
      hint.textContent = minLength > 0 ? `At least ${minLength} characters.` : '';
      delete hint.dataset.strength;
      return;
    }
    const strength = passwordStrength(text, minLength);
    hint.dataset.strength = strength;
    hint.textContent = strength === 'short'
      ? `Too short: at least ${minLength} characters.`
      : WORDS[strength];
  };
  input.addEventListener('input', update);
  update();
  return hint;
}
