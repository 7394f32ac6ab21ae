// @ts-check
/**
 * The frame shared by the app's views: a <section> with a focusable heading,
 * plus a `card` helper for the boxes inside it.
 */

import { h, uid } from './dom.js';
import { icon } from './icons.js';

/**
 * Builds an empty view.
 * @param {string} name
 * @param {string} title
 * @param {string} [intro]
 * @returns {{el: HTMLElement, heading: HTMLElement, body: HTMLElement}}
 */
export function viewFrame(name, title, intro) {
  const headingId = uid(`view-${name}`);
  const heading = h('h1', { id: headingId, tabindex: '-1', class: 'view-title' }, title);
  const body = h('div', { class: 'view-body' });
  const el = h('section', {
    class: 'view',
    id: `view-${name}`,
    test: `view-${name}`,
    'aria-labelledby': headingId,
    hidden: true,
  }, h('header', { class: 'view-header' }, heading, intro ? h('p', { class: 'muted' }, intro) : null), body);
  return { el, heading, body };
}

/**
 * A titled box. `actions` go to the right of the title (e.g. a refresh button).
 * @param {import('./dom.js').Child} title
 * @param {{test?: string, iconName?: string, actions?: Node[], className?: string, danger?: boolean}} [options]
 * @returns {HTMLElement} the card; put content in it with append()
 */
export function card(title, { test, iconName, actions = [], className = '', danger = false } = {}) {
  const headingId = uid('card');
  return h('section', {
    class: `card ${danger ? 'card-danger' : ''} ${className}`.trim(),
    test,
    'aria-labelledby': headingId,
  },
  h('div', { class: 'card-header' },
    h('h2', { id: headingId, class: 'card-title' }, iconName ? icon(iconName) : null, title),
    actions.length ? h('div', { class: 'card-actions' }, actions) : null));
}

/**
 * A small button with an icon and text. Other options are props for h().
 * @param {import('./dom.js').Child} text
 * @param {{test?: string, iconName?: string, kind?: string, onclick?: (event: MouseEvent) => void,
 *   type?: string, small?: boolean} & import('./dom.js').Props} [options]
 */
export function button(text, { test, iconName, kind = '', onclick, type = 'button', small = false, ...rest } = {}) {
  return h('button', {
    type,
    class: `btn ${kind ? `btn-${kind}` : ''} ${small ? 'btn-sm' : ''}`.replace(/\s+/g, ' ').trim(),
    test,
    onclick,
    ...rest,
  }, iconName ? icon(iconName) : null, text);
}
