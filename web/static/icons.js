// @ts-check
/**
 * Line icons drawn on a 24×24 grid, built as inline SVG elements.
 *
 * Built with createElementNS (not innerHTML) so no markup parsing is involved
 * and the CSP stays strict. Icons inherit the text colour (currentColor) and
 * are hidden from screen readers unless given a label, because the button or
 * text next to them already says what they mean.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Each icon: a list of [element, attributes]. Our own simple geometry. */
const SHAPES = {
  lock: [
    ['rect', { x: 5, y: 11, width: 14, height: 10, rx: 2 }],
    ['path', { d: 'M8 11V8a4 4 0 0 1 8 0v3' }],
    ['path', { d: 'M12 15v2' }],
  ],
  unlock: [
    ['rect', { x: 5, y: 11, width: 14, height: 10, rx: 2 }],
    ['path', { d: 'M8 11V8a4 4 0 0 1 7.6-1.7' }],
  ],
  home: [
    ['path', { d: 'M3.5 11 12 4l8.5 7' }],
    ['path', { d: 'M6 9.5V20h12V9.5' }],
    ['path', { d: 'M10 20v-5h4v5' }],
  ],
  user: [
    ['circle', { cx: 12, cy: 8, r: 4 }],
    ['path', { d: 'M4 21c0-4 3.6-7 8-7s8 3 8 7' }],
  ],
  shield: [
    ['path', { d: 'M12 3 20 6v6c0 4.6-3.4 8-8 9-4.6-1-8-4.4-8-9V6z' }],
    ['path', { d: 'm9 12 2 2 4-4' }],
  ],
  logout: [
    ['path', { d: 'M14 4h4a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-4' }],
    ['path', { d: 'M9 8l-4 4 4 4' }],
    ['path', { d: 'M5 12h10' }],
  ],
  download: [
    ['path', { d: 'M12 4v11' }],
    ['path', { d: 'm7 10 5 5 5-5' }],
    ['path', { d: 'M5 20h14' }],
  ],
  trash: [
    ['path', { d: 'M4 7h16' }],
    ['path', { d: 'M9 7V4h6v3' }],
    ['path', { d: 'm6 7 1 13h10l1-13' }],
  ],
  refresh: [
    ['path', { d: 'M20 12a8 8 0 1 1-2.3-5.6' }],
    ['path', { d: 'M20 4v5h-5' }],
  ],
  eye: [
    ['path', { d: 'M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z' }],
    ['circle', { cx: 12, cy: 12, r: 3 }],
  ],
  plus: [
    ['path', { d: 'M12 5v14' }],
    ['path', { d: 'M5 12h14' }],
  ],
  check: [['path', { d: 'm5 12 5 5 9-10' }]],
  close: [
    ['path', { d: 'M6 6l12 12' }],
    ['path', { d: 'M18 6 6 18' }],
  ],
  image: [
    ['rect', { x: 3, y: 5, width: 18, height: 14, rx: 2 }],
    ['circle', { cx: 9, cy: 10, r: 2 }],
    ['path', { d: 'm21 16-5-5-8 8' }],
  ],
  key: [
    ['circle', { cx: 8, cy: 15, r: 4 }],
    ['path', { d: 'M11 12 20 3' }],
    ['path', { d: 'm16 7 2 2' }],
    ['path', { d: 'm18 5 2 2' }],
  ],
  clock: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M12 7v5l3 2' }],
  ],
  save: [
    ['path', { d: 'M5 4h11l3 3v13H5z' }],
    ['path', { d: 'M8 4v5h7V4' }],
    ['rect', { x: 8, y: 13, width: 8, height: 7 }],
  ],
  restore: [
    ['path', { d: 'M9 14 4 9l5-5' }],
    ['path', { d: 'M4 9h11a5 5 0 0 1 0 10h-3' }],
  ],
  camera: [
    ['path', { d: 'M4 8h3l2-3h6l2 3h3v11H4z' }],
    ['circle', { cx: 12, cy: 13, r: 3.5 }],
  ],
  pencil: [
    ['path', { d: 'M4 20h4L19 9l-4-4L4 16z' }],
    ['path', { d: 'm13 7 4 4' }],
  ],
  warning: [
    ['path', { d: 'M12 3 22 20H2z' }],
    ['path', { d: 'M12 10v4' }],
    ['path', { d: 'M12 17h.01' }],
  ],
  info: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M12 11v6' }],
    ['path', { d: 'M12 7.5h.01' }],
  ],
  folder: [['path', { d: 'M3 6h6l2 2h10v11H3z' }]],
  list: [
    ['path', { d: 'M9 6h11' }],
    ['path', { d: 'M9 12h11' }],
    ['path', { d: 'M9 18h11' }],
    ['path', { d: 'M4 6h.01M4 12h.01M4 18h.01' }],
  ],
  zap: [['path', { d: 'M13 3 5 14h6l-1 7 8-11h-6z' }]],
  stop: [['rect', { x: 6, y: 6, width: 12, height: 12, rx: 1.5 }]],
  play: [['path', { d: 'M7 4.5v15L19.5 12z' }]],
  terminal: [
    ['rect', { x: 3, y: 4, width: 18, height: 16, rx: 2 }],
    ['path', { d: 'm7 9 3 3-3 3' }],
    ['path', { d: 'M13 15h4' }],
  ],
  server: [
    ['rect', { x: 3, y: 4, width: 18, height: 7, rx: 1.5 }],
    ['rect', { x: 3, y: 13, width: 18, height: 7, rx: 1.5 }],
    ['path', { d: 'M7 7.5h.01M7 16.5h.01' }],
  ],
  more: [['path', { d: 'M5 12h.01M12 12h.01M19 12h.01', 'stroke-width': 3 }]],
  external: [
    ['path', { d: 'M14 4h6v6' }],
    ['path', { d: 'M20 4 11 13' }],
    ['path', { d: 'M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5' }],
  ],
};

/**
 * Returns an <svg> for a named icon.
 * @param {string} name key of SHAPES
 * @param {{label?: string, className?: string}} options a label makes it a
 *   meaningful image (role="img" with a <title>) instead of decoration.
 */
export function icon(name, { label, className = '' } = {}) {
  const shapes = SHAPES[name];
  if (!shapes) throw new Error(`Unknown icon: ${name}`);
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name} ${className}`.trim());
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('focusable', 'false');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    const title = document.createElementNS(SVG_NS, 'title');
    title.textContent = label;
    svg.append(title);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  for (const [tag, attrs] of shapes) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    svg.append(node);
  }
  return svg;
}

/** Names of all icons (for checks). */
export const ICON_NAMES = Object.keys(SHAPES);
