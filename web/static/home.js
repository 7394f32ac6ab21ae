// @ts-check
/**
 * The home view: the user's data at a glance and the settings.json editor.
 *
 * The editor shows settings.json as formatted JSON, checks it as you type and
 * again before saving, and sends the text exactly as written (it is already
 * JSON), so nothing is lost to re-serialisation.
 */

import { api, rawJson } from './api.js';
import { h, field, setError } from './dom.js';
import { act, showStatus, withBusy } from './status.js';
import { confirmDialog } from './dialog.js';
import { formatBytes, formatNumber, plural } from './format.js';
import { checkSettingsJson, formatJson } from './json-check.js';
import { viewFrame, card, button } from './view.js';

/** How a folder is named in the table ("" or "." is the top of the data folder). */
function folderLabel(name) {
  return !name || name === '.' || name === '/' ? '(top level: settings.json…)' : name;
}

/**
 * The usage card: one row per data folder with files and size.
 * @param {import('./app.js').Ctx} ctx
 */
function createUsageCard(ctx) {
  const summary = h('p', { class: 'usage-summary', test: 'usage-summary' }, 'Loading…');
  const tbody = h('tbody');
  const totalFiles = h('td', { class: 'num' });
  const totalBytes = h('td', { class: 'num' });
  const table = h('table', { class: 'table usage-table', test: 'usage-table' },
    h('caption', { class: 'sr-only' }, 'Files and size of each folder in your data folder'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Folder'),
      h('th', { scope: 'col', class: 'num' }, 'Files'),
      h('th', { scope: 'col', class: 'num' }, 'Size'),
      h('th', { scope: 'col', class: 'bar-col' }, h('span', { class: 'sr-only' }, 'Share of space')))),
    tbody,
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'Total'), totalFiles, totalBytes, h('td', { class: 'bar-col' }))));

  const refresh = button('Refresh', { test: 'usage-refresh', iconName: 'refresh', small: true });
  const el = card('Your data at a glance', { test: 'usage-card', iconName: 'folder', actions: [refresh] });
  el.append(summary, h('div', { class: 'table-wrap' }, table));

  function render(usage) {
    const folders = Array.isArray(usage?.folders) ? usage.folders : [];
    const max = Math.max(1, ...folders.map((f) => f.bytes || 0));
    tbody.replaceChildren(...folders.map((folder) => {
      const bar = h('span', { class: 'bar-fill' });
      bar.style.width = `${Math.round(((folder.bytes || 0) / max) * 100)}%`;
      return h('tr', { test: 'usage-row', 'data-folder': folder.name },
        h('th', { scope: 'row', class: 'folder-name' }, folderLabel(folder.name)),
        h('td', { class: 'num', 'data-label': 'Files' }, formatNumber(folder.files)),
        h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(folder.bytes)),
        h('td', { class: 'bar-col', 'aria-hidden': 'true' }, h('span', { class: 'bar' }, bar)));
    }));
    totalFiles.textContent = formatNumber(usage.files);
    totalBytes.textContent = formatBytes(usage.bytes);
    summary.textContent = `${plural(usage.files ?? 0, 'file')} in ${plural(folders.length, 'folder')}, `
      + `${formatBytes(usage.bytes)} in all`
      + (usage.quotaBytes ? ` of your ${formatBytes(usage.quotaBytes)} quota.` : '.');
    summary.dataset.over = usage.quotaBytes && usage.bytes >= usage.quotaBytes ? '1' : '0';
  }

  async function load() {
    render(await api('/api/users/usage', { handle: ctx.me.handle }));
  }

  refresh.addEventListener('click', () => act(refresh, async () => {
    await load();
    return 'Data usage updated.';
  }));

  return { el, load };
}

/**
 * The settings.json editor card.
 * @param {import('./app.js').Ctx} ctx
 */
function createSettingsCard(ctx) {
  const editor = h('textarea', {
    class: 'code-editor',
    test: 'settings-editor',
    spellcheck: 'false',
    autocomplete: 'off',
    autocapitalize: 'off',
    wrap: 'off',
    rows: '22',
  });
  const state = h('span', { class: 'editor-state', test: 'settings-state', 'data-state': 'clean' }, '');
  const error = h('p', { class: 'error', test: 'settings-error', role: 'alert', hidden: true });
  const notice = h('p', { class: 'notice', test: 'settings-notice', hidden: true });
  const save = button('Save', { test: 'settings-save', kind: 'primary', iconName: 'save' });
  const format = button('Format', { test: 'settings-format', iconName: 'list' });
  const reload = button('Reload', { test: 'settings-reload', iconName: 'refresh' });

  const el = card('Settings (settings.json)', { test: 'settings-card', iconName: 'pencil' });
  el.append(
    h('p', { class: 'muted' },
      'Your SillyTavern settings as JSON. The text is checked before it is saved; Ctrl+S saves. '
      + 'Earlier copies can be kept and restored under Account → Settings snapshots.'),
    field('settings.json', editor, { className: 'field-wide' }),
    error,
    notice,
    h('div', { class: 'toolbar' }, save, format, reload, state),
  );

  let savedText = '';
  let loaded = false;

  const dirty = () => loaded && editor.value !== savedText;
  ctx.hasUnsavedSettings = dirty;

  function updateState(check) {
    let name = dirty() ? 'dirty' : 'clean';
    if (check?.error) name = 'invalid';
    state.dataset.state = name;
    state.textContent = { clean: 'No unsaved changes', dirty: 'Unsaved changes', invalid: 'Invalid JSON' }[name];
  }

  function showCheck(check) {
    setError(error, check.error ?? '');
    editor.setAttribute('aria-invalid', check.error ? 'true' : 'false');
    updateState(check);
  }

  /** Puts the caret where the JSON error is, so it can be fixed at once. */
  function pointAt(position) {
    if (typeof position !== 'number') return;
    editor.focus();
    editor.setSelectionRange(position, Math.min(position + 1, editor.value.length));
  }

  let timer = 0;
  editor.addEventListener('input', () => {
    updateState();
    clearTimeout(timer);
    timer = setTimeout(() => showCheck(checkSettingsJson(editor.value)), 350);
  });

  async function load() {
    const data = await api('/api/settings/get');
    let text = typeof data?.settings === 'string' ? data.settings : JSON.stringify(data?.settings ?? {}, null, 4);
    // Show formatted JSON; text that is already laid out over lines is kept as written.
    if (!text.includes('\n')) text = formatJson(text) ?? text;
    editor.value = text;
    savedText = text;
    loaded = true;
    notice.hidden = true;
    showCheck(checkSettingsJson(text));
  }

  async function saveNow() {
    clearTimeout(timer);
    const text = editor.value;
    const check = checkSettingsJson(text);
    showCheck(check);
    if (check.error) {
      showStatus(`Settings not saved. ${check.error}`, 'error');
      pointAt(check.position);
      return;
    }
    await act(save, async () => {
      await api('/api/settings/save', rawJson(text));
      savedText = text;
      notice.hidden = true;
      updateState();
      // The persona picture (the avatar fallback) comes from settings.json.
      await ctx.refreshMe().catch(() => {});
      ctx.emit('data');
      return 'Settings saved.';
    }, { onError: (_err, message) => setError(error, message) });
  }

  save.addEventListener('click', saveNow);
  editor.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      saveNow();
    }
  });

  format.addEventListener('click', () => {
    const check = checkSettingsJson(editor.value);
    showCheck(check);
    if (check.error) {
      showStatus(`Cannot format: ${check.error}`, 'error');
      pointAt(check.position);
      return;
    }
    editor.value = JSON.stringify(check.value, null, 4);
    updateState();
    showStatus('Formatted. Save to keep the change.', 'info');
  });

  reload.addEventListener('click', async () => {
    if (dirty()) {
      const ok = await confirmDialog({
        title: 'Discard your edits?',
        message: 'Reloading replaces the editor content with settings.json as saved on the server.',
        okLabel: 'Discard and reload',
        danger: true,
      });
      if (!ok) {
        showStatus('Kept your edits.', 'info');
        return;
      }
    }
    await act(reload, async () => {
      await load();
      return 'Settings reloaded from the server.';
    });
  });

  /** settings.json changed elsewhere (restore, reset): reload unless edits would be lost. */
  async function changedOnServer() {
    if (!loaded) return;
    if (dirty()) {
      notice.textContent = 'settings.json was changed on the server since you started editing. '
        + 'Reload to see the new content (your edits here would be discarded).';
      notice.hidden = false;
      return;
    }
    await load();
  }

  return { el, load, changedOnServer, isLoaded: () => loaded };
}

/** @param {import('./app.js').Ctx} ctx */
export function createHomeView(ctx) {
  const { el, heading, body } = viewFrame('home', 'Home');
  const greeting = h('p', { class: 'greeting', test: 'home-greeting' });
  const setGreeting = () => {
    greeting.textContent = `Welcome, ${ctx.me.name || ctx.me.handle}.`;
  };
  setGreeting();
  ctx.on('me', setGreeting);
  heading.after(greeting);

  const usage = createUsageCard(ctx);
  const settings = createSettingsCard(ctx);
  body.append(usage.el, settings.el);

  let usageStale = true;
  let settingsStale = true;
  ctx.on('data', () => {
    usageStale = true;
  });
  ctx.on('settings', () => {
    usageStale = true;
    if (!settings.isLoaded()) return;
    // Counted as busy from the moment of the change, so waiting for idle includes the reload.
    withBusy(() => settings.changedOnServer())
      .catch((err) => showStatus(`Could not reload your settings: ${err.message}`, 'error'));
  });

  /** Loads what is missing or stale; errors become status messages, never exceptions. */
  async function show() {
    const tasks = [];
    if (usageStale) {
      tasks.push(usage.load().then(() => {
        usageStale = false;
      }, (err) => showStatus(`Could not load your data usage: ${err.message}`, 'error')));
    }
    if (settingsStale) {
      tasks.push(settings.load().then(() => {
        settingsStale = false;
      }, (err) => showStatus(`Could not load your settings: ${err.message}`, 'error')));
    }
    await Promise.all(tasks);
  }

  return { el, heading, title: 'Home', show };
}
