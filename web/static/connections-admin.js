// @ts-check
/**
 * The admin's "Shared connections" card: API keys stored once on the
 * server and granted to profiles or accounts, whose SillyTavern then uses
 * them without anyone seeing them. Listed with their SillyTavern secret
 * key, the one address they may go to, the models allowed and who has
 * them (each grant with its own revoke button); "New connection…" and
 * Edit share one dialog, "Grant…" adds a profile or an account, Delete
 * asks first.
 *
 * The server never sends a key's value back, and this page never puts one
 * into the page: the value field of Edit starts empty ("unchanged"), and
 * after saving it is emptied and dropped with its dialog.
 */

import { api } from './api.js';
import { h, field, uid } from './dom.js';
import { icon } from './icons.js';
import { act, showStatus, withBusy, describeError } from './status.js';
import { openDialog, confirmDialog } from './dialog.js';
import { formatDateTime, isoDate } from './format.js';
import { card, button } from './view.js';

/** SillyTavern's names for the keys most often shared (secrets.json). */
export const COMMON_SECRET_KEYS = [
  ['api_key_openai', 'OpenAI'],
  ['api_key_custom', 'Custom (OpenAI-compatible)'],
  ['api_key_claude', 'Claude'],
  ['api_key_openrouter', 'OpenRouter'],
  ['api_key_mistralai', 'Mistral AI'],
  ['api_key_makersuite', 'Google AI Studio'],
  ['api_key_cohere', 'Cohere'],
  ['api_key_groq', 'Groq'],
  ['api_key_ooba', 'Text Generation WebUI (ooba)'],
  ['api_key_koboldcpp', 'KoboldCpp'],
  ['api_key_vllm', 'vLLM'],
  ['api_key_tabby', 'TabbyAPI'],
];

const KEY_RULE = /^[a-z0-9_]{1,64}$/;
/** Control characters, which no name or key holds. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_VALUE = 16 * 1024;

/** "profile member" / "user alice", with an icon. */
function grantWords(kind, target) {
  return [icon(kind === 'profile' ? 'shield' : 'user'), h('span', {}, `${kind === 'profile' ? 'profile' : 'user'} ${target}`)];
}

/** Everyone a connection is granted to, in words ("profile member, user bob"). */
function grantees(conn) {
  return [
    ...(conn.profiles ?? []).map((p) => `profile ${p}`),
    ...(conn.users ?? []).map((u) => `user ${u}`),
  ].join(', ');
}

/** The models field's text → a list of names. */
function modelList(text) {
  return text.split(',').map((m) => m.trim()).filter(Boolean);
}

/**
 * @param {{afterChange?: () => Promise<void>}} options called after any
 *   change (the admin view reloads the audit log)
 */
export function createConnectionsCard({ afterChange = async () => {} } = {}) {
  const add = button('New connection…', { test: 'connection-new', iconName: 'plus', small: true });
  const refresh = button('Refresh', { test: 'connections-refresh', iconName: 'refresh', small: true });
  const el = card('Shared connections', { test: 'connections-card', iconName: 'key', actions: [add, refresh] });
  const tbody = h('tbody');
  const table = h('table', { class: 'table connections-table', test: 'connections-table' },
    h('caption', { class: 'sr-only' }, 'API connections shared with profiles and accounts'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Connection'),
      h('th', { scope: 'col' }, 'Secret key'),
      h('th', { scope: 'col' }, 'Endpoint'),
      h('th', { scope: 'col' }, 'Models'),
      h('th', { scope: 'col' }, 'Granted to'),
      h('th', { scope: 'col' }, 'Actions'))),
    tbody);
  el.append(
    h('p', { class: 'muted' }, 'An API key stored here is written into the SillyTavern of every profile and '
      + 'account it is granted to. They can generate with it but never see it, and it is sent only to its '
      + 'endpoint. Nobody can read a stored key back, not even an admin: to change it, type a new one.'),
    h('div', { class: 'table-wrap table-wrap-cards' }, table),
  );

  let connections = [];

  /** The new/edit dialog; `conn` null for a new connection. */
  async function edit(btn, conn) {
    const fresh = !conn;
    const listId = uid('secret-keys');
    const name = h('input', {
      type: 'text', test: 'connection-edit-name', autocomplete: 'off', maxlength: '64',
      value: conn?.name ?? '', readOnly: !fresh, class: fresh ? null : 'connection-name-fixed',
    });
    const key = h('input', {
      type: 'text', test: 'connection-edit-key', autocomplete: 'off', spellcheck: 'false', maxlength: '64',
      list: listId, value: conn?.secretKey ?? '',
    });
    const keys = h('datalist', { id: listId },
      COMMON_SECRET_KEYS.map(([k, what]) => h('option', { value: k, label: what })));
    // Never filled from anything: the server does not send values.
    const value = h('input', {
      type: 'password', test: 'connection-edit-value', autocomplete: 'off', spellcheck: 'false',
      placeholder: fresh ? '' : 'unchanged — type to replace',
    });
    const endpoint = h('input', {
      type: 'text', inputmode: 'url', test: 'connection-edit-endpoint', autocomplete: 'off', spellcheck: 'false',
      value: conn?.endpoint ?? '', placeholder: 'https://…',
    });
    const models = h('input', {
      type: 'text', test: 'connection-edit-models', autocomplete: 'off', spellcheck: 'false',
      value: (conn?.models ?? []).join(', '),
    });
    const ok = await openDialog({
      title: fresh ? 'New shared connection' : `Connection ${conn.name}`,
      body: [
        field('Name', name, { hint: fresh ? 'Shown to the people it is shared with.' : 'A connection keeps its name.' }),
        field('SillyTavern secret key', h('div', {}, key, keys), {
          input: key,
          hint: 'Where SillyTavern looks for the key: api_key_openai for OpenAI, api_key_custom for a '
            + 'custom OpenAI-compatible endpoint, …',
        }),
        field('Key value', value, {
          hint: fresh
            ? 'The API key itself. It is stored sealed and never shown again.'
            : 'Leave it empty to keep the stored key; it is never shown.',
        }),
        field('Endpoint (optional)', endpoint, {
          hint: 'The only address the key may be sent to, such as https://llm.example/v1. Empty: only the '
            + 'service\'s own address built into SillyTavern.',
        }),
        field('Allowed models (optional)', models, { hint: 'Names separated by commas. Empty: any model.' }),
      ],
      okLabel: fresh ? 'Create connection' : 'Save connection',
      test: 'connection-edit',
      validate: () => {
        const n = name.value.trim();
        if (!n || n.length > 64 || CONTROL.test(n)) return 'Give the connection a name of 1 to 64 characters.';
        if (fresh && connections.some((c) => c.name === n)) return `There is a connection ${n} already.`;
        if (!KEY_RULE.test(key.value.trim())) {
          return 'The secret key is SillyTavern\'s name for it: a–z, 0–9 and _, such as api_key_openai.';
        }
        const v = value.value.trim();
        if (fresh && !v) return 'Type the key\'s value.';
        if (v.length > MAX_VALUE || CONTROL.test(v)) return 'That value cannot be a key: it is too long or has control characters.';
        const e = endpoint.value.trim();
        if (e && !/^https?:\/\/[^\s/?#]+/i.test(e)) return 'The endpoint is an http:// or https:// address, or empty.';
        return '';
      },
    });
    const connName = name.value.trim();
    const typed = value.value.trim();
    // Out of the page at once, whatever happens next.
    value.value = '';
    value.remove();
    if (!ok) {
      showStatus(fresh ? 'No connection created.' : `Connection ${connName} not changed.`, 'info');
      return;
    }
    const body = {
      name: connName,
      secretKey: key.value.trim(),
      endpoint: endpoint.value.trim() || null,
      models: modelList(models.value),
    };
    if (typed) body.value = typed;
    await act(btn, async () => {
      await api('/api/connections/save', body);
      await load();
      await afterChange();
      if (fresh) return `Connection ${connName} created. Grant it to a profile or an account to share it.`;
      return typed ? `Connection ${connName} saved with its new key.` : `Connection ${connName} saved; its key is unchanged.`;
    });
  }

  /** "Grant…": a profile, an account or both. */
  async function grant(btn, conn) {
    let lists;
    try {
      lists = await withBusy(() => Promise.all([api('/api/permissions/profiles'), api('/api/permissions/users')]));
    } catch (err) {
      showStatus(`Could not read the profiles and accounts: ${describeError(err)}`, 'error');
      return;
    }
    const [answer, users] = lists;
    const profiles = (answer?.profiles ?? []).map((p) => p.name).filter((p) => !(conn.profiles ?? []).includes(p));
    const handles = (Array.isArray(users) ? users : []).map((u) => u.handle)
      .filter((u) => !(conn.users ?? []).includes(u));
    const profile = h('select', { test: 'connection-grant-profile' },
      h('option', { value: '' }, '— no profile —'), profiles.map((p) => h('option', { value: p }, p)));
    const user = h('select', { test: 'connection-grant-user' },
      h('option', { value: '' }, '— no account —'), handles.map((u) => h('option', { value: u }, u)));
    const ok = await openDialog({
      title: `Share ${conn.name}`,
      body: [
        h('p', {}, `Choose a profile (every account with it), an account, or both. Their SillyTavern gets the key `
          + `as ${conn.secretKey} at once.`),
        field('Profile', profile),
        field('Account', user),
      ],
      okLabel: 'Grant',
      test: 'connection-grant',
      validate: () => (profile.value || user.value ? '' : 'Choose a profile or an account.'),
    });
    if (!ok) {
      showStatus(`${conn.name} was not granted to anyone new.`, 'info');
      return;
    }
    const to = [];
    if (profile.value) to.push({ profile: profile.value });
    if (user.value) to.push({ user: user.value });
    await act(btn, async () => {
      for (const target of to) {
        await api('/api/connections/grant', { name: conn.name, ...target });
      }
      await load();
      await afterChange();
      const words = to.map((t) => (t.profile ? `profile ${t.profile}` : `user ${t.user}`)).join(' and ');
      return `${conn.name} is shared with ${words}.`;
    });
  }

  async function remove(btn, conn) {
    const who = grantees(conn);
    const ok = await confirmDialog({
      title: `Delete the connection ${conn.name}?`,
      message: who
        ? `Its key is taken out of the SillyTavern of everyone it is shared with (${who}) and deleted from the server.`
        : 'Its key is deleted from the server.',
      okLabel: 'Delete connection',
      danger: true,
      test: 'connection-delete',
    });
    if (!ok) {
      showStatus(`Connection ${conn.name} was kept.`, 'info');
      return;
    }
    await act(btn, async () => {
      await api('/api/connections/delete', { name: conn.name });
      await load();
      await afterChange();
      return `Connection ${conn.name} deleted.`;
    });
  }

  function chip(conn, kind, target) {
    const revoke = h('button', {
      type: 'button',
      class: 'btn btn-icon btn-ghost',
      test: 'connection-revoke',
      'aria-label': `Stop sharing ${conn.name} with ${kind} ${target}`,
      title: 'Revoke',
    }, icon('close'));
    revoke.addEventListener('click', () => act(revoke, async () => {
      await api('/api/connections/revoke', { name: conn.name, [kind]: target });
      await load();
      await afterChange();
      return `${conn.name} is no longer shared with ${kind} ${target}.`;
    }));
    return h('span', { class: 'chip', test: 'connection-grant', 'data-kind': kind, 'data-target': target },
      grantWords(kind, target), revoke);
  }

  function row(conn) {
    const small = (text, test, options) => {
      const b = button(text, { test, small: true, 'data-name': conn.name, ...options });
      b.setAttribute('aria-label', `${text} ${conn.name}`);
      return b;
    };
    const editBtn = small('Edit…', 'connection-edit', { iconName: 'pencil' });
    const grantBtn = small('Grant…', 'connection-grant-add', { iconName: 'plus' });
    const del = small('Delete…', 'connection-delete', { iconName: 'trash', kind: 'danger-quiet' });
    editBtn.addEventListener('click', () => edit(editBtn, conn));
    grantBtn.addEventListener('click', () => grant(grantBtn, conn));
    del.addEventListener('click', () => remove(del, conn));
    const chips = [
      ...(conn.profiles ?? []).map((p) => chip(conn, 'profile', p)),
      ...(conn.users ?? []).map((u) => chip(conn, 'user', u)),
    ];
    const models = conn.models ?? [];
    return h('tr', { test: 'connection-row', 'data-name': conn.name },
      h('th', { scope: 'row' }, h('div', { class: 'cell-stack' },
        h('span', { test: 'connection-name' }, conn.name),
        h('span', { class: 'subtle' }, 'changed ',
          h('time', { datetime: isoDate(conn.updated) }, formatDateTime(conn.updated))))),
      h('td', { 'data-label': 'Secret key' }, h('code', { test: 'connection-key' }, conn.secretKey)),
      h('td', { class: 'connection-endpoint', test: 'connection-endpoint', 'data-label': 'Endpoint' },
        conn.endpoint ? h('code', {}, conn.endpoint) : h('span', { class: 'muted' }, 'SillyTavern\'s own')),
      h('td', { test: 'connection-models', 'data-label': 'Models' },
        models.length ? models.join(', ') : h('span', { class: 'muted' }, 'any')),
      h('td', { 'data-label': 'Granted to' }, h('div', { class: 'chip-list', test: 'connection-grants' },
        chips.length ? chips : h('span', { class: 'muted', test: 'connection-grants-none' }, 'nobody yet'))),
      h('td', { class: 'row-actions', 'data-label': 'Actions' },
        h('div', { class: 'action-wrap' }, editBtn, grantBtn, del)));
  }

  async function load() {
    const answer = await api('/api/connections/list');
    connections = Array.isArray(answer) ? answer : [];
    tbody.replaceChildren(...connections.map(row));
    if (!connections.length) {
      tbody.append(h('tr', { test: 'connections-empty' }, h('td', { colspan: '6', class: 'empty' },
        'No shared connections yet.')));
    }
    el.dataset.count = String(connections.length);
  }

  add.addEventListener('click', () => edit(add, null));
  refresh.addEventListener('click', () => act(refresh, async () => {
    await load();
    return 'Connections updated.';
  }));

  return { el, load };
}
