// @ts-check
/**
 * Where a person's picture comes from, and the persona pictures they can
 * choose from: /api/users/avatar-info and /api/users/choose-persona-avatar,
 * shared by the account view (your own) and the admin's profile dialog.
 */

import { api } from './api.js';
import { h } from './dom.js';

/** {source: 'custom'|'persona'|'default', persona: string|null, pictures: string[]} */
export function avatarInfo(handle) {
  return api('/api/users/avatar-info', { handle });
}

export function choosePersonaAvatar(handle, file) {
  return api('/api/users/choose-persona-avatar', { handle, file });
}

/** One sentence on where the picture comes from. */
export function describeSource(info, { own = true } = {}) {
  const whose = own ? 'your' : 'their';
  if (info.source === 'custom') return `A picture uploaded here (${whose} own).`;
  if (info.source === 'persona') {
    return `${own ? 'Your' : 'Their'} persona picture ${info.persona}, from User Avatars/ (SillyTavern's personas).`;
  }
  return `The default picture: ${own ? 'you have' : 'they have'} neither an uploaded picture nor a persona picture.`;
}

/** The URL of one of the caller's own persona pictures. */
export function personaPictureUrl(file) {
  return `/User%20Avatars/${encodeURIComponent(file)}`;
}

/**
 * The choice of persona pictures as buttons (`persona-option`, with
 * `data-file` and aria-pressed on the current one); `onChoose(file)` runs
 * on a click.
 */
export function personaOptions(info, onChoose) {
  if (!info.pictures.length) {
    return [h('p', { class: 'muted', test: 'persona-empty' },
      'No pictures in User Avatars/ yet: SillyTavern keeps persona pictures there.')];
  }
  return info.pictures.map((file) => {
    const current = info.source === 'persona' && info.persona === file;
    const option = h('button', {
      type: 'button',
      class: 'persona-option',
      test: 'persona-option',
      'data-file': file,
      'aria-pressed': current ? 'true' : 'false',
      title: file,
    }, h('img', { src: personaPictureUrl(file), alt: '', width: 48, height: 48, class: 'avatar avatar-md' }),
    h('span', { class: 'persona-name' }, file));
    option.addEventListener('click', () => onChoose(file, option));
    return option;
  });
}
