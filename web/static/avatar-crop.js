// @ts-check
/**
 * Square cropping of an uploaded picture, entirely in the browser.
 *
 * Avatars are shown square (or round), and the server keeps them in its
 * database, so we crop here and send a small image: at most 512×512, PNG when
 * the source may have transparency, JPEG otherwise. The square starts as the
 * largest centred one; people can drag it (mouse, touch or pen), move it with
 * the arrow keys, and change its size with a slider or +/−.
 */

import { h, field, uid } from './dom.js';

/** Largest side we send to the server. */
const OUTPUT_MAX = 512;
/** Sources bigger than this are refused before decoding (phones make big files). */
const MAX_SOURCE_BYTES = 40 * 1024 * 1024;
/** Size of the crop canvas box in CSS pixels (fits a 360 px wide screen). */
const VIEW_BOX = 280;
const PREVIEW_SIZE = 96;

/**
 * Loads a File into a decoded <img>.
 * @param {File} file
 * @returns {Promise<HTMLImageElement>}
 */
async function decodeImage(file) {
  if (file.size > MAX_SOURCE_BYTES) throw new Error('That picture is too large (over 40 MB).');
  if (file.type && !file.type.startsWith('image/')) throw new Error('That file is not a picture.');
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    if (!img.naturalWidth || !img.naturalHeight) throw new Error('no size');
    return img;
  } catch {
    throw new Error('The browser cannot read that file as a picture. Try a PNG or JPEG.');
  } finally {
    // The decoded image stays usable for drawing after the URL is revoked.
    URL.revokeObjectURL(url);
  }
}

export class AvatarCropper {
  constructor() {
    /** @type {HTMLImageElement|null} */
    this.image = null;
    this.keepsAlpha = false;
    this.sel = { x: 0, y: 0, size: 0 };
    /** @type {{dx: number, dy: number, id: number}|null} */
    this.drag = null;

    const helpId = uid('crop-help');
    this.canvas = h('canvas', {
      class: 'crop-canvas',
      test: 'avatar-crop',
      tabindex: '0',
      role: 'img',
      'aria-label': 'Crop area. Use the arrow keys to move the square, plus and minus to resize it.',
      'aria-describedby': helpId,
    });
    this.preview = h('canvas', { class: 'crop-preview', test: 'avatar-preview', role: 'img', 'aria-label': 'Preview of the new picture' });
    this.zoom = h('input', { type: 'range', min: '20', max: '100', step: '1', value: '100', test: 'avatar-zoom' });

    this.el = h('div', { class: 'cropper', test: 'avatar-cropper', hidden: true },
      h('div', { class: 'crop-stage' }, this.canvas),
      h('div', { class: 'crop-side' },
        h('p', { class: 'hint', id: helpId }, 'Drag the square to choose the part to keep.'),
        field('Crop size', this.zoom),
        h('div', { class: 'crop-preview-wrap' }, this.preview, h('span', { class: 'muted' }, 'Preview'))));

    this.canvas.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.onPointerMove(e));
    this.canvas.addEventListener('pointerup', (e) => this.onPointerUp(e));
    this.canvas.addEventListener('pointercancel', (e) => this.onPointerUp(e));
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.zoom.addEventListener('input', () => this.setSize(this.minSide() * (Number(this.zoom.value) / 100)));
  }

  /**
   * Decodes `file` and shows the cropper with the largest centred square.
   * @param {File} file
   */
  async load(file) {
    const img = await decodeImage(file);
    this.image = img;
    this.keepsAlpha = !/^image\/(jpeg|jpg)$/i.test(file.type);
    const side = this.minSide();
    this.sel = { x: (img.naturalWidth - side) / 2, y: (img.naturalHeight - side) / 2, size: side };
    this.zoom.value = '100';
    this.el.hidden = false;
    this.layout();
    this.draw();
  }

  /** Forgets the picture and hides the cropper. */
  clear() {
    this.image = null;
    this.el.hidden = true;
  }

  get loaded() {
    return Boolean(this.image);
  }

  minSide() {
    return this.image ? Math.min(this.image.naturalWidth, this.image.naturalHeight) : 0;
  }

  /** Sizes the canvases for the picture's aspect ratio and the screen's pixel density. */
  layout() {
    const { naturalWidth: w, naturalHeight: hgt } = this.loadedImage();
    const scale = Math.min(VIEW_BOX / w, VIEW_BOX / hgt);
    const cssW = Math.max(1, Math.round(w * scale));
    const cssH = Math.max(1, Math.round(hgt * scale));
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
    // Only the width is set: CSS keeps height:auto, so a narrower screen scales it without distortion.
    this.canvas.style.width = `${cssW}px`;
    this.preview.width = Math.round(PREVIEW_SIZE * dpr);
    this.preview.height = Math.round(PREVIEW_SIZE * dpr);
    this.preview.style.width = `${PREVIEW_SIZE}px`;
    this.preview.style.height = `${PREVIEW_SIZE}px`;
  }

  /**
   * The picture, for the steps that only run once one is loaded.
   * @returns {HTMLImageElement}
   */
  loadedImage() {
    if (!this.image) throw new Error('No picture is loaded.');
    return this.image;
  }

  clamp() {
    const { naturalWidth: w, naturalHeight: hgt } = this.loadedImage();
    const s = this.sel;
    s.size = Math.min(Math.max(s.size, 8), Math.min(w, hgt));
    s.x = Math.min(Math.max(s.x, 0), w - s.size);
    s.y = Math.min(Math.max(s.y, 0), hgt - s.size);
  }

  /**
   * Resizes the square around its centre.
   * @param {number} size
   */
  setSize(size) {
    if (!this.image) return;
    const s = this.sel;
    const cx = s.x + s.size / 2;
    const cy = s.y + s.size / 2;
    s.size = size;
    s.x = cx - size / 2;
    s.y = cy - size / 2;
    this.clamp();
    this.zoom.value = String(Math.round((s.size / this.minSide()) * 100));
    this.draw();
  }

  draw() {
    if (!this.image) return;
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext('2d'));
    const W = this.canvas.width;
    const H = this.canvas.height;
    const k = W / this.image.naturalWidth;
    const { x, y, size } = this.sel;
    ctx.clearRect(0, 0, W, H);
    ctx.drawImage(this.image, 0, 0, W, H);
    // Dim everything outside the square.
    ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
    ctx.beginPath();
    ctx.rect(0, 0, W, H);
    ctx.rect(x * k, y * k, size * k, size * k);
    ctx.fill('evenodd');
    // The square and a circle guide (avatars are often shown round).
    const line = Math.max(1, Math.round(2 * (window.devicePixelRatio || 1)));
    ctx.lineWidth = line;
    ctx.strokeStyle = '#ffffff';
    ctx.setLineDash([]);
    ctx.strokeRect(x * k + line / 2, y * k + line / 2, size * k - line, size * k - line);
    ctx.setLineDash([line * 3, line * 3]);
    ctx.beginPath();
    ctx.arc((x + size / 2) * k, (y + size / 2) * k, (size * k) / 2 - line, 0, Math.PI * 2);
    ctx.stroke();
    ctx.setLineDash([]);

    const p = /** @type {CanvasRenderingContext2D} */ (this.preview.getContext('2d'));
    p.clearRect(0, 0, this.preview.width, this.preview.height);
    p.imageSmoothingQuality = 'high';
    p.drawImage(this.image, x, y, size, size, 0, 0, this.preview.width, this.preview.height);
  }

  /**
   * Pointer position in picture pixels.
   * @param {PointerEvent} event
   */
  toImage(event) {
    const rect = this.canvas.getBoundingClientRect();
    const image = this.loadedImage();
    return {
      x: ((event.clientX - rect.left) / rect.width) * image.naturalWidth,
      y: ((event.clientY - rect.top) / rect.height) * image.naturalHeight,
    };
  }

  /** @param {PointerEvent} event */
  onPointerDown(event) {
    if (!this.image) return;
    event.preventDefault();
    this.canvas.focus();
    const p = this.toImage(event);
    const s = this.sel;
    const inside = p.x >= s.x && p.x <= s.x + s.size && p.y >= s.y && p.y <= s.y + s.size;
    if (!inside) {
      // Jump the square to where the click was, then keep dragging from its centre.
      s.x = p.x - s.size / 2;
      s.y = p.y - s.size / 2;
      this.clamp();
      this.draw();
    }
    this.drag = { dx: p.x - s.x, dy: p.y - s.y, id: event.pointerId };
    this.canvas.setPointerCapture(event.pointerId);
  }

  /** @param {PointerEvent} event */
  onPointerMove(event) {
    if (!this.drag || event.pointerId !== this.drag.id) return;
    const p = this.toImage(event);
    this.sel.x = p.x - this.drag.dx;
    this.sel.y = p.y - this.drag.dy;
    this.clamp();
    this.draw();
  }

  /** @param {PointerEvent} event */
  onPointerUp(event) {
    if (!this.drag || event.pointerId !== this.drag.id) return;
    this.drag = null;
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    if (!this.image) return;
    const step = this.minSide() * (event.shiftKey ? 0.1 : 0.02);
    const s = this.sel;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      s.x += moves[event.key][0];
      s.y += moves[event.key][1];
      this.clamp();
      this.draw();
    } else if (event.key === '+' || event.key === '=') {
      this.setSize(s.size + step);
    } else if (event.key === '-' || event.key === '_') {
      this.setSize(s.size - step);
    } else {
      return;
    }
    event.preventDefault();
  }

  /** The cropped square as a data: URL, at most 512×512. */
  toDataUrl() {
    const { image } = this;
    if (!image) throw new Error('Choose a picture first.');
    const { x, y, size } = this.sel;
    const out = Math.max(1, Math.min(OUTPUT_MAX, Math.round(size)));
    const canvas = document.createElement('canvas');
    canvas.width = out;
    canvas.height = out;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    ctx.imageSmoothingQuality = 'high';
    /** @param {boolean} opaque */
    const render = (opaque) => {
      ctx.clearRect(0, 0, out, out);
      if (opaque) {
        ctx.fillStyle = '#ffffff';
        ctx.fillRect(0, 0, out, out);
      }
      ctx.drawImage(image, x, y, size, size, 0, 0, out, out);
    };
    if (this.keepsAlpha) {
      render(false);
      const png = canvas.toDataURL('image/png');
      // A detailed photo saved as PNG can be large; past ~1.5 MB a JPEG is the kinder upload.
      if (png.length < 1.5 * 1024 * 1024) return png;
    }
    render(true);
    return canvas.toDataURL('image/jpeg', 0.9);
  }
}
