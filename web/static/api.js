// @ts-check
/**
 * The one place that talks HTTP to the Innkeeper server.
 *
 * Every POST needs the session's CSRF token in `X-CSRF-Token`. The token is
 * fetched once and cached; it becomes stale whenever the session changes (a
 * login, a logout, an expired session), so on a 403 whose error mentions CSRF
 * we fetch a fresh token and retry the request exactly once.
 *
 * Failures throw an ApiError with `.status`, `.message` (the server's own
 * `{"error": …}` text, shown to people as is) and `.retryAfter` (seconds, from
 * the Retry-After header of a 429), so callers can show precise messages.
 */

/** An HTTP error answer from the server. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, retryAfter?: number|null, path?: string, data?: Record<string, any>|null}} [options]
   */
  constructor(message, {
    status = 0, retryAfter = null, path = '', data = null,
  } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
    this.path = path;
    /** The whole JSON answer (e.g. a login's `twoFactor` and `ticket`), or null. */
    this.data = data;
  }
}

/** Wraps text that is already JSON so api() sends it unchanged (no re-serialising). */
export class RawJson {
  /** @param {string} text */
  constructor(text) {
    this.text = text;
  }
}

/**
 * Marks a body as JSON text to send verbatim (used for settings.json, to keep numbers exact).
 * @param {string} text
 */
export function rawJson(text) {
  return new RawJson(text);
}

/** @type {Promise<string>|null} */
let tokenPromise = null;

async function fetchToken() {
  const res = await fetch('/csrf-token', { credentials: 'same-origin', cache: 'no-store' });
  // With disableCsrfProtection the route may answer with an error; then we send no token.
  if (!res.ok) return '';
  const data = await res.json().catch(() => ({}));
  return typeof data?.token === 'string' ? data.token : '';
}

/**
 * The cached CSRF token ("" when the server has none); `fresh: true` fetches a new one.
 * @param {{fresh?: boolean}} [options]
 * @returns {Promise<string>}
 */
export function csrfToken({ fresh = false } = {}) {
  if (fresh || !tokenPromise) {
    tokenPromise = fetchToken().catch((err) => {
      tokenPromise = null;
      throw err;
    });
  }
  return tokenPromise;
}

/** Drops the cached token (call after anything that changes the session). */
export function forgetCsrfToken() {
  tokenPromise = null;
}

/**
 * Parses Retry-After (delta-seconds or an HTTP date) into seconds, or null.
 * @param {string|null} value
 * @returns {number|null}
 */
function parseRetryAfter(value) {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const when = Date.parse(trimmed);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

/**
 * Builds an ApiError from a failed response, reading its `{"error": …}` body.
 * @param {Response} res
 * @param {string} path
 * @returns {Promise<ApiError>}
 */
async function errorFrom(res, path) {
  let message = '';
  /** @type {any} the parsed JSON answer */
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
      if (data && typeof data.error === 'string') message = data.error;
      else if (data && typeof data.message === 'string') message = data.message;
    } catch {
      // Not JSON: use plain text, but never dump an HTML page into the UI.
      if (!/^\s*</.test(text)) message = text.trim().slice(0, 300);
    }
  }
  if (!message) message = res.statusText || `The server answered ${res.status}.`;
  return new ApiError(message, {
    status: res.status,
    retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
    path,
    data: data && typeof data === 'object' ? data : null,
  });
}

/**
 * @param {string} path
 * @param {string} payload JSON text
 * @param {string} token the CSRF token, "" for none
 */
function post(path, payload, token) {
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers['X-CSRF-Token'] = token;
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    headers,
    body: payload,
  });
}

/**
 * POSTs JSON and returns the successful Response (body unread).
 * Retries once with a fresh CSRF token when the server says the token is bad.
 * @param {string} path
 * @param {object|RawJson|null} [body] sent as `{}` when omitted
 * @returns {Promise<Response>}
 */
export async function apiResponse(path, body) {
  let payload;
  if (body === undefined || body === null) payload = '{}';
  else if (body instanceof RawJson) payload = body.text;
  else payload = JSON.stringify(body);

  let res = await post(path, payload, await csrfToken());
  if (res.status === 403) {
    const err = await errorFrom(res.clone(), path);
    if (/csrf/i.test(err.message)) {
      res = await post(path, payload, await csrfToken({ fresh: true }));
    }
  }
  if (!res.ok) throw await errorFrom(res, path);
  return res;
}

/**
 * Reads a response body: null for 204, JSON when the server says so, else text.
 * @param {Response} res
 * @param {'auto'|'json'|'text'} as
 * @returns {Promise<any>}
 */
async function readBody(res, as) {
  if (res.status === 204 || res.status === 205) return null;
  if (as === 'text') return res.text();
  const text = await res.text();
  if (as === 'json' || (res.headers.get('Content-Type') ?? '').includes('json')) {
    return text ? JSON.parse(text) : null;
  }
  return text;
}

/**
 * POSTs `body` as JSON to `path` and returns the parsed answer.
 * @param {string} path e.g. '/api/users/login'
 * @param {object|RawJson} [body] sent as `{}` when omitted
 * @param {{as?: 'auto'|'json'|'text'}} [options] `text` for plain-text answers
 *   (slugify, load-snapshot); `auto` decides from Content-Type.
 * @returns {Promise<any>} parsed JSON, text, or null for 204
 * @throws {ApiError}
 */
export async function api(path, body, { as = 'auto' } = {}) {
  const res = await apiResponse(path, body);
  return readBody(res, as);
}

/**
 * GETs a JSON resource (server-info, users/me).
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function getJson(path) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json' },
  });
  if (!res.ok) throw await errorFrom(res, path);
  return readBody(res, 'json');
}

/** Defaults used when the server predates /api/server-info or cannot answer it. */
const SERVER_INFO_DEFAULTS = {
  accounts: true,
  discreet: false,
  version: '',
  sso: false,
  ssoLogoutUrl: '',
  fullBackup: false,
  app: false,
};

/**
 * The public server facts the UI adapts to (accounts on/off, discreet login…).
 * @returns {Promise<Record<string, any>>}
 */
export async function loadServerInfo() {
  try {
    return { ...SERVER_INFO_DEFAULTS, ...(await getJson('/api/server-info')) };
  } catch (err) {
    if (err instanceof ApiError) return { ...SERVER_INFO_DEFAULTS };
    throw err;
  }
}

/**
 * True when the browser could not reach the server at all (fetch rejected).
 * @param {unknown} err
 */
export function isNetworkError(err) {
  return err instanceof TypeError;
}
