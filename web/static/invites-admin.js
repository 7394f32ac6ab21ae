// @ts-check
/**
 * The admin's "Invitation links" card: make a link (expiry, uses, role,
 * optionally a set handle and a suggested name), see it once to copy, and
 * list every link with what is left of it, withdrawing any. Links carry a
 * secret the server keeps only as a hash, so a link is shown only when made.
 */

import { api } from './api.js';
import { h, field, checkbox } from './dom.js';
import { act } from './status.js';
import { formatDateTime, isoDate } from './format.js';
import { card, button } from './view.js';

const STATES = {
  active: ['Active', 'badge-ok'],
  used: ['Used up', 'badge-quiet'],
  expired: ['Expired', 'badge-quiet'],
  revoked: ['Withdrawn', 'badge-off'],
};

export function createInvitesCard() {
  const el = card('Invitation links', { test: 'invites-card', iconName: 'plus' });
  const days = h('input', { type: 'number', min: 1, max: 365, value: 7, test: 'invite-days', inputmode: 'numeric' });
  const uses = h('input', { type: 'number', min: 1, max: 1000, value: 1, test: 'invite-uses', inputmode: 'numeric' });
  const handle = h('input', { test: 'invite-set-handle', autocomplete: 'off', maxlength: 64 });
  const name = h('input', { test: 'invite-set-name', autocomplete: 'off', maxlength: 200 });
  const admin = checkbox('The account is an admin', { test: 'invite-admin' });
  const create = button('Make a link', { test: 'invite-create', iconName: 'plus', kind: 'primary', type: 'submit' });
  const made = h('div', { class: 'hint-box', test: 'invite-made', hidden: true });
  const list = h('ul', { class: 'session-list', test: 'invite-list' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('Valid for (days)', days),
    field('Accounts it may create', uses),
    field('Set handle (optional)', handle),
    field('Suggested name (optional)', name),
    admin.el,
    create);
  el.append(
    h('p', { class: 'muted' }, 'Someone who opens a link picks their own handle, name and password: '
      + 'you never type or learn their password.'),
    form, made, h('h3', { class: 'card-title' }, 'Links'), list);

  function row(inv) {
    const [label, badge] = STATES[inv.state] ?? [inv.state, 'badge-quiet'];
    const revoke = button('Withdraw', { test: 'invite-revoke', iconName: 'close', small: true });
    revoke.hidden = inv.state !== 'active';
    revoke.addEventListener('click', () => act(revoke, async () => {
      await api('/api/invites/revoke', { id: inv.id });
      await load();
      return `Invitation ${inv.id} withdrawn: its link no longer works.`;
    }));
    const what = [
      `${inv.usesLeft} of ${inv.uses} left`,
      inv.admin ? 'admin' : null,
      inv.handle ? `for ${inv.handle}` : null,
      `by ${inv.createdBy ?? '—'}`,
    ].filter(Boolean).join(' · ');
    return h('li', { class: 'session-row', test: 'invite-row', 'data-id': String(inv.id), 'data-state': inv.state },
      h('div', { class: 'session-main' },
        h('strong', {}, `#${inv.id} `), h('span', { class: `badge ${badge}`, test: 'invite-state' }, label),
        h('span', { class: 'muted' }, ` ${what}`)),
      h('div', { class: 'session-times muted' }, 'Expires ',
        h('time', { datetime: isoDate(inv.expires) }, formatDateTime(inv.expires))),
      revoke);
  }

  async function load() {
    const answer = await api('/api/invites/list');
    const rows = Array.isArray(answer?.invites) ? answer.invites : [];
    list.replaceChildren(...rows.map(row));
    el.dataset.count = String(rows.length);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await act(create, async () => {
      const answer = await api('/api/invites/create', {
        days: Number(days.value),
        uses: Number(uses.value),
        admin: admin.input.checked,
        handle: handle.value.trim(),
        name: name.value.trim(),
      });
      const url = new URL(answer.link, location.origin).href;
      const text = h('input', { readonly: true, value: url, test: 'invite-link', 'aria-label': 'The invitation link' });
      const copy = button('Copy', { test: 'invite-copy', small: true });
      copy.addEventListener('click', () => act(copy, async () => {
        text.select();
        await navigator.clipboard?.writeText(url);
        return 'Link copied.';
      }));
      made.replaceChildren(
        h('p', {}, 'Give this link to the person you invite. It is shown only now.'),
        h('div', { class: 'inline-form' }, text, copy));
      made.hidden = false;
      handle.value = '';
      name.value = '';
      await load();
      return `Invitation ${answer.invite.id} made.`;
    });
  });

  return { el, load };
}
