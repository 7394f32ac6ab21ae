// @ts-check
/**
 * The admin card for the hosted SillyTavern (SPEC §11): one row per account
 * whose process has run since Innkeeper started — state, since when, memory,
 * restarts, the last error — with Stop, Start/Restart and the log tail.
 * Without a hosted app the card says so, and where an install was found.
 *
 * The list is read on every visit of the admin view and after each action;
 * nothing polls in the background (Stop answers once the process has exited
 * and Restart once it answers again, so the list is current after both).
 */

import { api } from './api.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { act } from './status.js';
import { formatAgo, formatBytes, formatDateTime, formatNumber, isoDate, plural } from './format.js';
import { card, button } from './view.js';

/** Lines of log shown: the most the server gives (a start alone writes ~250). */
const LOG_LINES = 500;

/** state → [label, badge class]. */
const STATES = {
  running: ['Running', 'badge-ok'],
  starting: ['Starting', 'badge-admin'],
  stopping: ['Stopping', 'badge-quiet'],
  stopped: ['Stopped', 'badge-quiet'],
  failed: ['Failed', 'badge-off'],
};

/** A time as "5 minutes ago", with the exact time as its tooltip. */
function ago(ms, test) {
  return h('time', { datetime: isoDate(ms), title: formatDateTime(ms, { seconds: true }), test }, formatAgo(ms));
}

/** The last error: its first line, the whole (multi-line) text when opened. */
function errorCell(text) {
  if (!text) return h('span', { class: 'muted', test: 'app-last-error', 'data-state': 'none' }, '—');
  const first = text.split('\n').find((line) => line.trim()) ?? text;
  return h('details', { class: 'error-details', test: 'app-last-error', 'data-state': 'some' },
    h('summary', { title: 'Show the whole message' }, first.trim()),
    h('pre', { class: 'code-view error-text', test: 'app-last-error-text' }, text));
}

/** The log tail of one process, in a panel under the table. */
function createLogViewer() {
  const title = h('h3', { class: 'card-title', test: 'app-log-title' });
  const reload = button('Reload', { test: 'app-log-refresh', iconName: 'refresh', small: true });
  const close = button('Close', { test: 'app-log-close', iconName: 'close', small: true });
  const content = h('pre', { class: 'code-view log-view', test: 'app-log-content', tabindex: '0' });
  const el = h('section', { class: 'snapshot-viewer', test: 'app-log-viewer', hidden: true },
    h('div', { class: 'card-header' }, title, h('div', { class: 'card-actions' }, reload, close)),
    content);

  let handle = '';

  async function load() {
    const answer = await api('/api/app/log', { handle, lines: LOG_LINES });
    const lines = Array.isArray(answer?.lines) ? answer.lines : [];
    el.dataset.lines = String(lines.length);
    content.textContent = lines.length ? lines.join('\n') : 'The log is empty.';
    content.setAttribute('aria-label', `Log of ${handle}`);
    // A tail is read from its end.
    content.scrollTop = content.scrollHeight;
  }

  /** Shows the log of `who` (a per-row Log button). */
  async function open(who) {
    handle = who;
    el.dataset.handle = who;
    title.replaceChildren(icon('terminal'), `Log of ${who}`,
      h('span', { class: 'muted log-note' }, `(last ${LOG_LINES} lines)`));
    content.textContent = '';
    el.hidden = false;
    await load();
    content.scrollTop = content.scrollHeight;
    el.scrollIntoView({ block: 'nearest' });
  }

  /** After a stop or restart of `who`: an open log of theirs shows what happened. */
  async function refreshIfShowing(who) {
    if (!el.hidden && handle === who) await load();
  }

  reload.addEventListener('click', () => act(reload, async () => {
    await load();
    return `Log of ${handle} reloaded.`;
  }));
  close.addEventListener('click', () => {
    el.hidden = true;
    handle = '';
  });

  return { el, open, refreshIfShowing };
}

/**
 * @param {{afterAction: () => Promise<void>}} options called after a stop or
 *   restart (the admin view reloads this card and the audit log)
 */
export function createProcessesCard({ afterAction }) {
  const refresh = button('Refresh', { test: 'app-refresh', iconName: 'refresh', small: true });
  const el = card('SillyTavern processes', { test: 'app-card', iconName: 'server', actions: [refresh] });
  const summary = h('p', { class: 'muted processes-summary', test: 'app-summary' });
  const hint = h('p', { class: 'hint-box', test: 'app-hint', hidden: true });
  const none = h('p', { class: 'muted', test: 'app-none', hidden: true },
    'No app is hosted: this server shows Innkeeper\'s own pages only. Set app.sillytavern.dir in '
    + 'config.yaml to give every account its own SillyTavern.');
  const tbody = h('tbody');
  const table = h('table', { class: 'table processes-table', test: 'app-table' },
    h('caption', { class: 'sr-only' }, 'SillyTavern processes, one per account'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Account'),
      h('th', { scope: 'col' }, 'State'),
      h('th', { scope: 'col' }, 'Since'),
      h('th', { scope: 'col', class: 'num' }, 'Memory'),
      h('th', { scope: 'col', class: 'num' }, 'Restarts'),
      h('th', { scope: 'col' }, 'Last error'),
      h('th', { scope: 'col' }, 'Actions'))),
    tbody);
  const tableWrap = h('div', { class: 'table-wrap table-wrap-cards', hidden: true }, table);
  const viewer = createLogViewer();
  el.append(summary, hint, none, tableWrap, viewer.el);

  /** False once the server said no app is hosted (that needs a restart to change). */
  /** @type {boolean|null} */
  let hosted = null;

  function row(p) {
    const [label, badge] = STATES[p.state] ?? [p.state, 'badge-quiet'];
    const small = (text, test, iconName) => {
      const b = button(text, { test, iconName, small: true, 'data-handle': p.handle });
      b.setAttribute('aria-label', `${text} ${p.handle}'s SillyTavern`);
      return b;
    };
    const stop = small('Stop', 'app-stop', 'stop');
    const restart = p.state === 'stopped'
      ? small('Start', 'app-restart', 'play')
      : small('Restart', 'app-restart', 'refresh');
    const log = small('Log', 'app-log', 'terminal');
    stop.disabled = !(p.state === 'running' || p.state === 'starting');
    restart.disabled = p.state === 'stopping' || p.state === 'starting';

    stop.addEventListener('click', () => act(stop, async () => {
      await api('/api/app/stop', { handle: p.handle });
      await Promise.all([afterAction(), viewer.refreshIfShowing(p.handle)]);
      return `${p.handle}'s SillyTavern is stopped. It starts again on their next request.`;
    }));
    restart.addEventListener('click', () => act(restart, async () => {
      await api('/api/app/restart', { handle: p.handle });
      await Promise.all([afterAction(), viewer.refreshIfShowing(p.handle)]);
      return `${p.handle}'s SillyTavern is running.`;
    }));
    log.addEventListener('click', () => act(log, async () => {
      await viewer.open(p.handle);
      return `Log of ${p.handle} loaded.`;
    }));

    const facts = [];
    if (p.pid) facts.push(`pid ${p.pid}`);
    if (p.port) facts.push(`port ${p.port}`);
    const busy = p.inFlight > 0 ? plural(p.inFlight, 'request') + ' in flight' : '';

    return h('tr', { test: 'app-row', 'data-handle': p.handle, 'data-state': p.state },
      h('th', { scope: 'row' }, h('code', { class: 'user-cell-handle', test: 'app-handle' }, p.handle)),
      h('td', { 'data-label': 'State' }, h('div', { class: 'cell-stack' },
        h('span', { class: `badge ${badge}`, test: 'app-state', 'data-state': p.state }, label),
        facts.length ? h('span', { class: 'subtle', test: 'app-pid' }, facts.join(' · ')) : null,
        busy ? h('span', { class: 'subtle' }, busy) : null)),
      h('td', { 'data-label': 'Since' }, h('div', { class: 'cell-stack' },
        ago(p.since, 'app-since'),
        p.lastUsed ? h('span', { class: 'subtle' }, 'last request ', ago(p.lastUsed, 'app-last-used')) : null)),
      h('td', { class: 'num', 'data-label': 'Memory' },
        h('span', { test: 'app-rss', 'data-bytes': p.rss === null || p.rss === undefined ? '' : String(p.rss) },
          formatBytes(p.rss ?? NaN))),
      h('td', { class: 'num', 'data-label': 'Restarts' },
        h('span', { test: 'app-restarts' }, formatNumber(p.restarts ?? 0))),
      h('td', { class: 'app-error-cell', 'data-label': 'Last error' }, errorCell(p.lastError)),
      h('td', { class: 'row-actions', 'data-label': 'Actions' },
        h('div', { class: 'action-wrap' }, stop, restart, log)));
  }

  function showSummary(status) {
    const running = status.processes.filter((p) => p.state === 'running').length;
    summary.dataset.running = String(running);
    summary.replaceChildren(
      `SillyTavern ${status.version ?? '?'} on Node ${status.node ?? '?'}, from `,
      h('code', {}, status.dir ?? '?'),
      `. ${formatNumber(running)} running, at most ${formatNumber(status.maxRunning)} at once; `
      + `a process stops after ${plural(status.idleMinutes, 'minute')} without requests.`);
  }

  async function load() {
    if (hosted === false) return;
    const status = await api('/api/app/status');
    hosted = status?.configured === true;
    summary.hidden = !hosted;
    tableWrap.hidden = !hosted;
    hint.hidden = hosted || !status?.hint;
    none.hidden = hosted || !!status?.hint;
    if (!hosted) {
      if (status?.hint) hint.replaceChildren(icon('info'), h('span', {}, status.hint));
      return;
    }
    const processes = Array.isArray(status.processes) ? status.processes : [];
    showSummary({ ...status, processes });
    tbody.replaceChildren(...processes.map(row));
    if (!processes.length) {
      tbody.append(h('tr', { test: 'app-empty' }, h('td', { colspan: '7', class: 'empty' },
        'No SillyTavern has run yet. An account\'s own starts when it logs in.')));
    }
  }

  refresh.addEventListener('click', () => act(refresh, async () => {
    await load();
    return 'Process list updated.';
  }));

  return { el, load };
}
