// @ts-check
/**
 * Tabs: a row of buttons (role="tab") that shows one panel at a time.
 *
 * Follows the WAI-ARIA tabs pattern: the chosen tab has aria-selected="true"
 * and is the only one in the Tab order; arrow keys, Home and End move between
 * tabs and choose at once. Panels stay in the DOM (hidden), so their content
 * keeps its state and tests can read it.
 */

import { h, uid } from './dom.js';
import { icon } from './icons.js';

/**
 * @param {Array<{name: string, label: string, iconName?: string, panel: import('./dom.js').Child}>} list
 * @param {{test?: string, label?: string, onChange?: (name: string) => void}} [options]
 *   `test` prefixes the data-test names: `<test>-tab-<name>` and `<test>-panel-<name>`
 * @returns {{el: HTMLElement, panels: HTMLElement[], select: (name: string) => void, current: () => string}}
 */
export function tabs(list, { test, label, onChange } = {}) {
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  /** @type {HTMLDivElement[]} */
  const panels = [];
  let chosen = list[0]?.name ?? '';

  for (const tab of list) {
    const tabId = uid('tab');
    const panelId = uid('panel');
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: tabId,
      class: 'tab',
      test: test ? `${test}-tab-${tab.name}` : undefined,
      'data-tab': tab.name,
      'aria-controls': panelId,
    }, tab.iconName ? icon(tab.iconName) : null, h('span', {}, tab.label));
    const panel = h('div', {
      role: 'tabpanel',
      id: panelId,
      class: 'tab-panel',
      test: test ? `${test}-panel-${tab.name}` : undefined,
      'data-tab': tab.name,
      'aria-labelledby': tabId,
    }, tab.panel);
    button.addEventListener('click', () => select(tab.name));
    buttons.push(button);
    panels.push(panel);
  }

  /** Shows the tab `name` and its panel, hiding the others. */
  function show(name, focus) {
    buttons.forEach((b, i) => {
      const on = list[i].name === name;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
      if (on && focus) b.focus();
    });
  }

  function select(name, { focus = false } = {}) {
    if (!list.some((t) => t.name === name)) return;
    const changed = name !== chosen;
    chosen = name;
    show(name, focus);
    if (changed) onChange?.(name);
  }

  const bar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': label, test: test ? `${test}-tabs` : undefined },
    buttons);
  bar.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    if (index < 0) return;
    const last = buttons.length - 1;
    const next = {
      ArrowRight: index === last ? 0 : index + 1,
      ArrowLeft: index === 0 ? last : index - 1,
      Home: 0,
      End: last,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    select(list[next].name, { focus: true });
  });

  show(chosen, false);

  return { el: bar, panels, select, current: () => chosen };
}
