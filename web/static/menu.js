// @ts-check
/**
 * A "More" menu: one button that opens a short list of actions under it.
 *
 * The list opens in place (it pushes the content below it down instead of
 * floating), so a scrolling table never clips it and it fits a phone. The
 * button has aria-expanded; the list is role="menu" with role="menuitem"
 * buttons. Arrow keys, Home and End move between the items, Escape closes
 * and returns to the button, and a click elsewhere closes it. Only one
 * menu is open at a time. Choosing an item closes the menu (focus back on
 * its button, so a dialog the item opens returns there) before the item's
 * own click handler runs.
 */

import { h, uid } from './dom.js';
import { icon } from './icons.js';

/** @type {{root: HTMLElement, close: (focusButton: boolean) => void, open: () => void}|null} */
let openMenu = null;

document.addEventListener('click', (event) => {
  if (openMenu && !openMenu.root.contains(/** @type {Node|null} */ (event.target))) openMenu.close(false);
});

/**
 * @param {HTMLButtonElement[]} items the actions (their click handlers do the work)
 * @param {{label?: string, ariaLabel?: string, test?: string, menuTest?: string, attrs?: object}} options
 * @returns {{el: HTMLElement, button: HTMLButtonElement, menu: HTMLElement, close: () => void}}
 */
export function actionMenu(items, {
  label = 'More', ariaLabel, test, menuTest, attrs = {},
} = {}) {
  const menuId = uid('menu');
  const button = h('button', {
    type: 'button',
    class: 'btn btn-sm menu-button',
    test,
    'aria-haspopup': 'true',
    'aria-expanded': 'false',
    'aria-controls': menuId,
    'aria-label': ariaLabel,
    ...attrs,
  }, icon('more'), label);
  for (const item of items) {
    item.setAttribute('role', 'menuitem');
    item.classList.add('menu-item');
  }
  const menu = h('div', {
    class: 'menu', role: 'menu', id: menuId, test: menuTest, hidden: true, 'aria-label': ariaLabel ?? label, ...attrs,
  }, items);
  const root = h('div', { class: 'menu-wrap' }, button, menu);

  const enabled = () => items.filter((i) => !i.disabled && !i.hidden);

  const self = {
    root,
    close(focusButton) {
      menu.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      if (openMenu === self) openMenu = null;
      if (focusButton) button.focus();
    },
    open() {
      if (openMenu && openMenu !== self) openMenu.close(false);
      menu.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      openMenu = self;
      enabled()[0]?.focus();
    },
  };

  button.addEventListener('click', () => {
    if (menu.hidden) self.open();
    else self.close(true);
  });
  // Capture: closes before the item's own handler opens a dialog or acts.
  menu.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('[role="menuitem"]')) self.close(true);
  }, true);
  menu.addEventListener('keydown', (event) => {
    const list = enabled();
    const index = list.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    const last = list.length - 1;
    const next = {
      ArrowDown: index >= last ? 0 : index + 1,
      ArrowUp: index <= 0 ? last : index - 1,
      Home: 0,
      End: last,
    }[event.key];
    if (event.key === 'Escape') {
      event.preventDefault();
      self.close(true);
    } else if (event.key === 'Tab') {
      self.close(false);
    } else if (next !== undefined && list.length) {
      event.preventDefault();
      list[next].focus();
    }
  });

  return { el: root, button, menu, close: () => self.close(false) };
}
