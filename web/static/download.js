// @ts-check
/**
 * Downloads of zip files that the server streams from a POST.
 *
 * A plain link cannot send the CSRF header, so we fetch the zip, read the
 * body stream while reporting the bytes received, then hand the result to the
 * browser's own download through a temporary <a download> and an object URL.
 * (The whole file passes through memory once; fine for the size of a
 * person's data folder. Streaming to disk would need the File System Access
 * picker, which tests and some browsers cannot drive.)
 */

import { apiResponse } from './api.js';
import { formatBytes } from './format.js';
import { h } from './dom.js';

/** Picks the file name out of a Content-Disposition header. */
export function filenameFromDisposition(header) {
  if (!header) return '';
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(header);
  if (!plain) return '';
  return (plain[2] ?? plain[1]).trim();
}

/** Keeps a file name to something a file system accepts. */
function safeName(name, fallback) {
  const cleaned = (name || '').replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').trim();
  return cleaned || fallback;
}

/**
 * POSTs `body` to `path` and saves the answer as a file.
 * @param {string} path
 * @param {object} body
 * @param {object} options
 * @param {string} options.fallbackName used when the server gives no file name
 * @param {(received: number, total: number) => void} [options.onProgress]
 * @returns {Promise<{name: string, bytes: number}>}
 */
export async function downloadPost(path, body, { fallbackName, onProgress }) {
  const res = await apiResponse(path, body);
  const total = Number(res.headers.get('Content-Length')) || 0;
  const name = safeName(filenameFromDisposition(res.headers.get('Content-Disposition')), fallbackName);
  const type = res.headers.get('Content-Type') || 'application/zip';

  let blob;
  let received = 0;
  if (res.body && typeof res.body.getReader === 'function') {
    const reader = res.body.getReader();
    const chunks = [];
    let lastReport = 0;
    onProgress?.(0, total);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      const now = performance.now();
      if (now - lastReport > 100) {
        lastReport = now;
        onProgress?.(received, total);
      }
    }
    blob = new Blob(chunks, { type });
  } else {
    blob = await res.blob();
    received = blob.size;
  }
  onProgress?.(received, total);

  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start reading the blob before releasing it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, bytes: received };
}

/**
 * Runs a download while writing its progress into `statusEl`
 * (data-state running|done|error, data-bytes = bytes received so far).
 */
export async function downloadWithStatus(statusEl, path, body, fallbackName) {
  statusEl.hidden = false;
  statusEl.dataset.state = 'running';
  statusEl.dataset.bytes = '0';
  statusEl.textContent = 'Preparing the backup…';
  try {
    const result = await downloadPost(path, body, {
      fallbackName,
      onProgress(received, total) {
        statusEl.dataset.bytes = String(received);
        statusEl.textContent = total
          ? `Downloading… ${formatBytes(received)} of ${formatBytes(total)}`
          : `Downloading… ${formatBytes(received)} received`;
      },
    });
    statusEl.dataset.state = 'done';
    statusEl.dataset.bytes = String(result.bytes);
    statusEl.textContent = `Saved ${result.name} (${formatBytes(result.bytes)}).`;
    return result;
  } catch (err) {
    statusEl.dataset.state = 'error';
    statusEl.textContent = 'The download failed.';
    throw err;
  }
}
