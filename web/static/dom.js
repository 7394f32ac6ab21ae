// @ts-check
/**
 * A tiny DOM builder.
 *
 * Every view is built from JavaScript so the HTML files stay empty shells and
 * the server's strict Content-Security-Policy (no inline scripts, no inline
 * event handlers, no style attributes) holds by construction: listeners are
 * attached with addEventListener and nothing here ever writes a `style`
 * attribute.
 */

/** Keys set as DOM properties rather than attributes (their live state matters). */
const PROPERTIES = new Set([
  'value', 'checked', 'disabled', 'hidden', 'selected', 'readOnly', 'required',
  'multiple', 'indeterminate', 'open',
]);

/**
 * What h() and setProps() take: `class`, `text`, `test`, `on<event>`
 * functions, DOM properties (PROPERTIES) and attributes.
 * @typedef {Record<string, any>} Props
 */

/** @typedef {string|number|Node|null|undefined|false} ChildItem */

/**
 * A child for h() and append(): text, a node, nothing (skipped) or a list
 * of them, nested up to three deep (append() flattens any depth, but a
 * type alias that names itself is beyond JSDoc in TypeScript 5).
 * @typedef {ChildItem|Array<ChildItem|Array<ChildItem|Array<ChildItem>>>} Child
 */

/**
 * Creates an element.
 *   h('button', { class: 'btn', test: 'logout', onclick: fn }, 'Log out')
 * `test` becomes `data-test`, `text` sets textContent, `on<event>` functions
 * become listeners, false/null/undefined values are skipped, children may be
 * strings, nodes, arrays or falsy (skipped).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/**
 * Applies the same props that h() understands to an existing element.
 * @template {HTMLElement} E
 * @param {E} el
 * @param {Props} props
 * @returns {E}
 */
export function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'style') throw new Error('Inline style attributes are blocked by the CSP; use a class.');
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'test') el.dataset.test = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  return el;
}

/**
 * Appends children (strings, nodes, nested arrays; falsy ones skipped).
 * @template {Element} E
 * @param {E} parent
 * @param {Child[]} children
 * @returns {E}
 */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === '') continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

let counter = 0;
/**
 * A page-unique id, for <label for> and aria-describedby links.
 * @param {string} [prefix]
 */
export function uid(prefix = 'id') {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * A labelled form field: <div class="field"><label>…</label>{control}<p class="hint">…</p></div>.
 * Every input in the UI goes through here so none is left without a <label>.
 * `control` may be a single element or an element wrapping the input (pass
 * `input` then so the label points at the right thing).
 * @param {Child} labelText
 * @param {HTMLElement} control
 * @param {{hint?: Child, input?: HTMLElement, className?: string}} [options]
 */
export function field(labelText, control, { hint, input = control, className = '' } = {}) {
  if (!input.id) input.id = uid('field');
  const label = h('label', { for: input.id }, labelText);
  const parts = [label, control];
  if (hint) {
    const hintEl = h('p', { class: 'hint', id: uid('hint') }, hint);
    describe(input, hintEl.id);
    parts.push(hintEl);
  }
  return h('div', { class: `field ${className}`.trim() }, parts);
}

/**
 * A checkbox with its label after it, as people expect to read it.
 * @param {Child} labelText
 * @param {Props} [props]
 * @returns {{input: HTMLInputElement, el: HTMLDivElement}}
 */
export function checkbox(labelText, props = {}) {
  const input = h('input', { type: 'checkbox', id: uid('check'), ...props });
  return { input, el: h('div', { class: 'check' }, input, h('label', { for: input.id }, labelText)) };
}

/**
 * Adds an id to an element's aria-describedby list.
 * @param {Element} el
 * @param {string} id
 */
export function describe(el, id) {
  const ids = new Set((el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean));
  ids.add(id);
  el.setAttribute('aria-describedby', [...ids].join(' '));
}

/**
 * Shows a message in an inline error element (or hides it when empty).
 * @param {HTMLElement} el
 * @param {string|null|undefined} message
 */
export function setError(el, message) {
  el.textContent = message ?? '';
  el.hidden = !message;
}

/**
 * A visually hidden text for screen readers (e.g. next to an icon).
 * @param {string} text
 */
export function srOnly(text) {
  return h('span', { class: 'sr-only' }, text);
}
