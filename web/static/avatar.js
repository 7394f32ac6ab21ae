// @ts-check
/**
 * Showing people's pictures.
 *
 * The server hands out an avatar for everyone (custom upload, persona picture,
 * or /img/default-user.png); if one fails to load we fall back to the default
 * picture rather than showing a broken image.
 */

import { h } from './dom.js';

export const DEFAULT_AVATAR = '/img/default-user.png';

/**
 * Points an <img> at an avatar URL, falling back to the default picture.
 * @param {HTMLImageElement} img
 * @param {string|null|undefined} src
 */
export function setAvatarSource(img, src) {
  img.src = src || DEFAULT_AVATAR;
}

/**
 * An <img> for an avatar; `alt` is empty by default because a name is always shown beside it.
 * @param {string|null|undefined} src
 * @param {{size?: number, className?: string, alt?: string, test?: string}} [options]
 */
export function avatarImage(src, { size = 48, className = 'avatar', alt = '', test } = {}) {
  const img = h('img', {
    class: className,
    alt,
    width: size,
    height: size,
    decoding: 'async',
    test,
  });
  img.addEventListener('error', () => {
    if (!img.src.endsWith(DEFAULT_AVATAR)) img.src = DEFAULT_AVATAR;
  });
  setAvatarSource(img, src);
  return img;
}
