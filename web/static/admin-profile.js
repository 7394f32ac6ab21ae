// @ts-check
/**
 * The admin's "Edit profile…" dialog for any account: display name and
 * picture (upload and crop, or remove an uploaded one), saying where the
 * picture comes from now. Names and pictures go through the same
 * change-name / change-avatar calls as people's own changes.
 */

import { api } from './api.js';
import { h, field, checkbox } from './dom.js';
import { avatarImage } from './avatar.js';
import { AvatarCropper } from './avatar-crop.js';
import { act, withBusy, showStatus } from './status.js';
import { openDialog } from './dialog.js';
import { avatarInfo, describeSource } from './avatar-source.js';

/**
 * @param {HTMLButtonElement} btn the menu item that opened it
 * @param {{handle: string, name: string, avatar: string}} user
 * @param {(handle: string) => Promise<void>} afterChange reloads the list
 */
export async function editProfile(btn, user, afterChange) {
  const info = await withBusy(() => avatarInfo(user.handle)).catch(() => null);
  const name = h('input', {
    type: 'text', test: 'admin-profile-name', value: user.name ?? '', maxlength: '100', autocomplete: 'off',
  });
  const file = h('input', { type: 'file', accept: 'image/*', test: 'admin-profile-avatar-file', class: 'file-input' });
  const cropper = new AvatarCropper();
  const remove = checkbox('Remove the uploaded picture', { test: 'admin-profile-avatar-remove' });
  remove.el.hidden = info?.source !== 'custom';
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    act(null, async () => {
      await cropper.load(chosen);
      remove.input.checked = false;
      return 'Picture loaded. Move the square to choose the part to keep.';
    });
  });

  const ok = await openDialog({
    title: `Profile of ${user.handle}`,
    body: [
      h('div', { class: 'profile-picture' },
        avatarImage(user.avatar, { size: 64, className: 'avatar avatar-lg' }),
        h('p', { class: 'muted', test: 'admin-profile-avatar-source', 'data-source': info?.source ?? '' },
          info ? describeSource(info, { own: false }) : 'Where the picture comes from could not be read.')),
      field('Display name', name),
      field('Upload a new picture', file, { hint: 'Cropped to a square here, sent at most 512×512.' }),
      cropper.el,
      remove.el,
    ],
    okLabel: 'Save profile',
    test: 'admin-profile',
    validate: () => (name.value.trim() ? '' : 'The display name cannot be empty.'),
  });
  if (!ok) {
    cropper.clear();
    showStatus(`The profile of ${user.handle} was not changed.`, 'info');
    return;
  }
  const newName = name.value.trim();
  const picture = cropper.loaded ? cropper.toDataUrl() : remove.input.checked ? '' : null;
  await act(btn, async () => {
    const done = [];
    if (newName !== (user.name ?? '')) {
      await api('/api/users/change-name', { handle: user.handle, name: newName });
      done.push('name');
    }
    if (picture !== null) {
      await api('/api/users/change-avatar', { handle: user.handle, avatar: picture });
      done.push('picture');
    }
    cropper.clear();
    if (done.length) await afterChange(user.handle);
    return done.length
      ? `Saved the ${done.join(' and ')} of ${user.handle}.`
      : `Nothing to change for ${user.handle}.`;
  });
}
